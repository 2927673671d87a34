/**
 * An audit entry's `changes` (docs/api.md) as lines to read: `field: from → to` for a patch, `field: value`
 * otherwise. Fields a create or mint left at their defaults (null, {}, []) are left out: they say nothing.
 * Pure, for the browser-free tests.
 */
export function describeChanges(changes: Readonly<Record<string, unknown>>): string[] {
  const lines: string[] = [];
  for (const [field, value] of Object.entries(changes)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'from' in value && 'to' in value) {
      lines.push(`${field}: ${JSON.stringify(value.from)} → ${JSON.stringify(value.to)}`);
    } else if (!isEmpty(value)) {
      lines.push(`${field}: ${JSON.stringify(value)}`);
    }
  }
  return lines;
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}
