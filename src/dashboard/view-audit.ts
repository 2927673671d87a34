import { describeError } from './api.js';
import { describeChanges } from './audit-format.js';
import { el, replaceChildren } from './dom.js';
import { formatDateTime } from './format.js';
import type { AuditEntry } from './types.js';
import { errorMessage, keyLink, pageHeading, type View } from './view.js';

const PAGE = 50;

function row(entry: AuditEntry, names: ReadonlyMap<string, string>): HTMLTableRowElement {
  const lines = describeChanges(entry.changes);
  return el(
    'tr',
    { 'data-action': entry.action },
    el('td', {}, el('time', { datetime: entry.at }, formatDateTime(entry.at))),
    el('td', {}, el('code', {}, entry.actor)),
    el('td', {}, el('span', { class: `badge action-${entry.action}` }, entry.action)),
    el('td', {}, keyLink(entry.keyId), names.has(entry.keyId) ? el('div', { class: 'muted' }, names.get(entry.keyId)) : null),
    el('td', { class: 'changes' }, lines.length === 0 ? '—' : el('ul', {}, ...lines.map((line) => el('li', {}, line)))),
  );
}

/** The audit log (docs/api.md `GET /admin/audit`), newest first, a page at a time. */
export const auditView: View = async (ctx, root) => {
  const body = el('tbody', {});
  const more = el('button', { type: 'button', class: 'button', hidden: true }, 'Load older entries');
  const problem = el('div', {});
  const head = ['When (UTC)', 'Actor', 'Action', 'Key', 'Changes'];
  replaceChildren(
    root,
    pageHeading('Audit log'),
    el('p', { class: 'hint' }, 'Every create, change, rotation and revocation through the admin API, and every child key minted. Actors are admin-token fingerprints (admin:…) or the minting key (key:…); secrets are never recorded.'),
    problem,
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { class: 'data', 'data-testid': 'audit-table' },
        el('caption', { class: 'visually-hidden' }, 'Audit log, newest first'),
        el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
        body,
      ),
    ),
    more,
  );
  let cursor: string | null = null;
  // Key names beside the ids, best effort: the log itself records ids only.
  const names = new Map<string, string>();
  try {
    for (const key of (await ctx.api.listAllKeys()).keys) names.set(key.id, key.name);
  } catch {
    // The ids alone still link to each key.
  }
  const load = async (announce: boolean): Promise<void> => {
    more.disabled = true;
    try {
      const page = await ctx.api.audit({ limit: PAGE, cursor });
      body.append(...page.data.map((entry) => row(entry, names)));
      if (body.childElementCount === 0) body.append(el('tr', {}, el('td', { colspan: head.length }, 'Nothing recorded yet.')));
      cursor = page.nextCursor;
      more.hidden = cursor === null || page.data.length < PAGE;
      if (announce) ctx.announce(`${body.childElementCount} entries shown.`);
    } catch (err) {
      replaceChildren(problem, errorMessage(describeError(err)));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load(true));
  await load(false);
};
