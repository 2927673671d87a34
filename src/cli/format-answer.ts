import { formatKey, formatKeyList } from './format-key.js';
import { formatAllUsage, formatKeyUsage } from './format-usage.js';
import { formatAlerts, formatOverview, formatRequests } from './format-operator.js';
import { isPresent, record, text } from './json-read.js';
import type { AnswerView } from './parse-command.js';
import { formatPairs, formatTable, printable } from './text-table.js';

/**
 * A successful admin API answer as the CLI prints it without `--json` (which prints the JSON itself).
 * Pure: the answer in, the text out (no trailing newline).
 */
export function formatAnswer(view: AnswerView, body: unknown): string {
  const b = record(body);
  switch (view.kind) {
    case 'key-created':
      return [...[`Created key ${text(b.id)} (${text(b.name)}).`, '', ...secretBlock(b.key)].map(printable), '', formatKey(withoutSecret(b))].join('\n');
    case 'key-rotated': {
      const previous =
        view.graceSeconds > 0
          ? `The previous secret keeps working until ${text(b.previousKeyValidUntil)} (${view.graceSeconds} s grace), then stops.`
          : 'The previous secret stopped working now.';
      return [`Rotated key ${text(b.id)} (${text(b.name)}).`, '', ...secretBlock(b.key), '', previous].map(printable).join('\n');
    }
    case 'key-updated':
      return `${printable(`Updated key ${text(b.id)}.`)}\n\n${formatKey(b)}`;
    case 'key':
      return formatKey(b);
    case 'key-revoked':
      return printable(
        `Revoked key ${text(b.id)} (${text(b.name)}) at ${text(b.revokedAt)}: it now answers 401 key_revoked, and so do its child keys.`,
      );
    case 'key-list':
      return formatKeyList(b, 'xai-gateway keys list');
    case 'key-usage':
      return formatKeyUsage(b);
    case 'all-usage':
      return formatAllUsage(b);
    case 'audit':
      return formatAudit(b);
    case 'key-requests':
      return formatRequests(b);
    case 'overview':
      return formatOverview(b);
    case 'alerts':
      return formatAlerts(b);
    case 'object': {
      const rows: [string, string][] = [
        ['object', text(b.id)],
        ['kind', text(b.kind)],
        ['owner key', text(b.keyId)],
        ['minted by', b.parentKeyId === null ? '-' : text(b.parentKeyId)],
        ['created', text(b.createdAt)],
        ['expires', b.expiresAt === null ? 'no known end' : text(b.expiresAt)],
      ];
      return formatPairs(rows);
    }
  }
}

/** The secret on a line of its own (easy to select and copy), announced as shown once (docs/api.md). */
function secretBlock(secret: unknown): string[] {
  if (typeof secret !== 'string') return ['The gateway sent no secret in its answer.'];
  return ['Secret (store it now, it will not be shown again):', '', `    ${secret}`];
}

function withoutSecret(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { key: _secret, ...rest } = body;
  return rest;
}

const CHANGES_CHARS = 100;

function formatAudit(page: Readonly<Record<string, unknown>>): string {
  const entries = Array.isArray(page.data) ? (page.data as unknown[]) : [];
  const lines: string[] = [];
  let cut = false;
  if (entries.length === 0) lines.push('No audit entries.');
  else {
    const rows = entries.map((entry) => {
      const e = record(entry);
      let changes = isPresent(e.changes) ? JSON.stringify(e.changes) : '-';
      if (changes.length > CHANGES_CHARS) {
        changes = `${changes.slice(0, CHANGES_CHARS - 1)}…`;
        cut = true;
      }
      return [text(e.at), text(e.actor), text(e.action), text(e.keyId), changes];
    });
    lines.push(formatTable(['AT', 'ACTOR', 'ACTION', 'KEY', 'CHANGES'], rows));
    lines.push('', `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, newest first${cut ? ' (long changes shortened; --json has them whole)' : ''}`);
  }
  if (typeof page.nextCursor === 'string') lines.push(printable(`More: xai-gateway audit --cursor ${page.nextCursor}   (or --all for every page)`));
  return lines.join('\n');
}
