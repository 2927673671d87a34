/**
 * Plain-text building blocks of the CLI's human output. Every value printed goes through `printable`:
 * key names and metadata may come from whoever holds a minting key (child keys), so control characters
 * (terminal escapes, newlines that would forge lines) are shown escaped, never sent to the terminal.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function printable(value: string): string {
  return value.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Columns padded to their widest cell; columns listed in `right` (numbers) are right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], right: readonly number[] = []): string {
  const cells = [headers, ...rows].map((row) => headers.map((_, i) => printable(row[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => [...(row[i] ?? '')].length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => {
          const pad = ' '.repeat((widths[i] ?? 0) - [...cell].length);
          return right.includes(i) ? pad + cell : cell + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `label:  value` lines with the values aligned. */
export function formatPairs(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...pairs.map(([label]) => label.length + 1));
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${printable(value)}`).join('\n');
}

/** USD exactly as the gateway computed it (ticks are 1e-10 USD, docs/api.md), without float noise or exponents. */
export function formatUsd(amount: number): string {
  if (!Number.isFinite(amount)) return String(amount);
  const fixed = amount.toFixed(10).replace(/\.?0+$/, '');
  return `$${fixed === '-0' ? '0' : fixed}`;
}

/** 1234567 → 1,234,567 (fixed locale, so output does not change with the machine). */
export function formatCount(count: number): string {
  return Number.isFinite(count) ? count.toLocaleString('en-US', { maximumFractionDigits: 10 }) : String(count);
}
