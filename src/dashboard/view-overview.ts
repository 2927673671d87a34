import { describeError } from './api.js';
import { el, replaceChildren } from './dom.js';
import { formatCount, formatUsd } from './format.js';
import type { Usage } from './types.js';
import { dataTable, errorMessage, keyLink, pageHeading, type View } from './view.js';

function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

function tile(label: string, value: string, testId: string, note?: string): HTMLElement {
  return el('div', { class: 'tile' }, el('p', { class: 'tile-label' }, label), el('p', { class: 'tile-value', 'data-testid': testId }, value), note === undefined ? null : el('p', { class: 'tile-note muted' }, note));
}

function usageLine(u: Usage): string {
  return `${formatCount(u.requests)} requests · ${formatCount(u.totalTokens)} tokens · ${formatCount(u.refused)} refused · ${formatCount(u.failed)} failed`;
}

/** The landing page: the gateway's day and month, what runs now, who spends most, who is close to a limit. */
export const overviewView: View = async (ctx, root) => {
  replaceChildren(root, pageHeading('Overview'), el('p', { class: 'muted' }, 'Loading…'));
  let o;
  try {
    o = await ctx.api.overview();
  } catch (err) {
    replaceChildren(root, pageHeading('Overview'), errorMessage(describeError(err)));
    return;
  }
  const top = o.topKeys.map((k) => el('tr', {}, el('td', {}, keyLink(k.keyId, k.name)), el('td', { class: 'num' }, formatCount(k.requests)), el('td', { class: 'num' }, formatUsd(k.costUsd))));
  const near = o.nearLimit.map((n) =>
    el('tr', {}, el('td', {}, keyLink(n.keyId, n.name)), el('td', {}, el('code', {}, n.limit)), el('td', { class: 'num' }, `${formatCount(n.used)} of ${formatCount(n.max)}`), el('td', { class: 'num' }, percent(n.share))),
  );
  replaceChildren(
    root,
    pageHeading('Overview'),
    el('p', { class: 'muted' }, `Today is ${o.date} (UTC). Totals add up keys without a parent; a child key’s usage is in its parent’s.`),
    el(
      'div',
      { class: 'tiles' },
      tile('Requests in flight', formatCount(o.inFlight), 'overview-inflight', 'on every instance, at most 3 s old'),
      tile('Cost today', formatUsd(o.totals.today.costUsd), 'overview-cost-today', usageLine(o.totals.today)),
      tile('Error rate today', percent(o.errorRate.today), 'overview-error-rate', 'refused and failed, of all requests'),
      tile(`Cost in ${o.month}`, formatUsd(o.totals.month.costUsd), 'overview-cost-month', usageLine(o.totals.month)),
    ),
    el('section', { 'aria-labelledby': 'top-heading' }, el('h2', { id: 'top-heading' }, 'Top keys by cost today'), dataTable({ caption: 'Top keys by cost today', head: ['Key', 'Requests', 'Cost'], rows: top, testId: 'top-keys', empty: 'No requests today yet.' })),
    el(
      'section',
      { 'aria-labelledby': 'near-heading' },
      el('h2', { id: 'near-heading' }, 'Keys close to a limit'),
      dataTable({ caption: 'Keys at 80 % or more of a day or month budget', head: ['Key', 'Limit', 'Used', 'Share'], rows: near, testId: 'near-limit', empty: 'None: every key is below 80 % of its budgets.' }),
    ),
  );
};
