import { describeError } from './api.js';
import { el, replaceChildren } from './dom.js';
import { formatCount, formatDateTime, formatUsd, utcDate } from './format.js';
import { DISPLAY_STATES, displayState, matchesFilter, type KeyFilter } from './key-state.js';
import type { KeyRecord, Usage } from './types.js';
import { errorMessage, keyLink, pageHeading, stateBadge, type View } from './view.js';

/** The filter outlives one visit to the list (not the session: it is plain memory). */
let lastFilter: KeyFilter = { state: 'all', search: '' };

const STATE_LABELS: Readonly<Record<KeyFilter['state'], string>> = {
  all: 'All states',
  active: 'Active',
  expiring: 'Expiring (within 7 days)',
  expired: 'Expired',
  revoked: 'Revoked',
};

/** The keys list: state, plan and today's usage of every key; filter by state, search by name or id. */
export const keysView: View = async (ctx, root) => {
  const count = el('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'keys-count' }, 'Loading keys…');
  const body = el('tbody', {});
  const state = el(
    'select',
    { id: 'filter-state', name: 'state' },
    ...(['all', ...DISPLAY_STATES] as const).map((value) => el('option', { value, selected: value === lastFilter.state }, STATE_LABELS[value])),
  );
  const search = el('input', { id: 'filter-search', name: 'search', type: 'search', value: lastFilter.search, placeholder: 'name or key_…', autocomplete: 'off' });
  const filterForm = el(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter keys' },
    el('div', { class: 'field' }, el('label', { for: 'filter-state' }, 'State'), state),
    el('div', { class: 'field grow' }, el('label', { for: 'filter-search' }, 'Search by name or id'), search),
  );
  filterForm.addEventListener('submit', (event) => event.preventDefault());
  const problem = el('div', {});
  const head = ['Name', 'Key id', 'State', 'Plan', 'Parent', 'Expires', 'Requests today', 'Tokens today', 'Cost today'];
  replaceChildren(
    root,
    el('div', { class: 'page-head' }, pageHeading('Keys'), el('a', { href: '#/keys/new', class: 'button primary' }, 'Create key')),
    filterForm,
    problem,
    count,
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { class: 'data', 'data-testid': 'keys-table' },
        el('caption', { class: 'visually-hidden' }, 'Client keys'),
        el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col', class: h.endsWith('today') ? 'num' : undefined }, h)))),
        body,
      ),
    ),
  );

  const today = utcDate(ctx.nowMs());
  let keys: KeyRecord[];
  let usage: Map<string, Usage>;
  let truncated: boolean;
  try {
    const [listed, report] = await Promise.all([ctx.api.listAllKeys(), ctx.api.allUsage({ from: today, to: today })]);
    keys = listed.keys;
    truncated = listed.truncated;
    usage = new Map(report.keys.map((entry) => [entry.keyId, entry.totals]));
  } catch (err) {
    replaceChildren(problem, errorMessage(describeError(err)));
    count.textContent = '';
    return;
  }

  const render = (): void => {
    lastFilter = { state: state.value as KeyFilter['state'], search: search.value };
    const nowMs = ctx.nowMs();
    const shown = keys.filter((key) => matchesFilter(key, lastFilter, nowMs));
    replaceChildren(
      body,
      ...shown.map((key) => {
        const used = usage.get(key.id);
        return el(
          'tr',
          { 'data-key-id': key.id },
          el('td', {}, keyLink(key.id, key.name)),
          el('td', {}, el('code', {}, key.id)),
          el('td', {}, stateBadge(displayState(key, nowMs))),
          el('td', {}, key.plan ?? '—'),
          el('td', {}, key.parentId === null ? '—' : keyLink(key.parentId)),
          el('td', {}, formatDateTime(key.expiresAt)),
          el('td', { class: 'num' }, formatCount(used?.requests ?? 0)),
          el('td', { class: 'num' }, formatCount(used?.totalTokens ?? 0)),
          el('td', { class: 'num' }, formatUsd(used?.costUsd ?? 0)),
        );
      }),
    );
    if (shown.length === 0) replaceChildren(body, el('tr', {}, el('td', { colspan: head.length }, keys.length === 0 ? 'No keys yet.' : 'No key matches the filter.')));
    count.textContent = `Showing ${shown.length} of ${keys.length} keys${truncated ? ' (the first ones only: the store holds more)' : ''}.`;
  };
  state.addEventListener('change', render);
  search.addEventListener('input', render);
  render();
};
