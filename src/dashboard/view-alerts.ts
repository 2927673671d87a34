import { describeError } from './api.js';
import { el, replaceChildren } from './dom.js';
import { formatDateTime } from './format.js';
import { dataTable, errorMessage, keyLink, pageHeading, type View } from './view.js';

/** Alert deliveries (webhooks from the config's alerts section), newest first. */
export const alertsView: View = async (ctx, root) => {
  replaceChildren(root, pageHeading('Alerts'), el('p', { class: 'muted' }, 'Loading…'));
  let deliveries;
  try {
    deliveries = (await ctx.api.alerts(200)).data;
  } catch (err) {
    replaceChildren(root, pageHeading('Alerts'), errorMessage(describeError(err)));
    return;
  }
  const head = ['When', 'Event', 'Key', 'Webhook', 'Status', 'Tries', 'Last answer'];
  const rows = deliveries.map((d) =>
    el(
      'tr',
      {},
      el('td', {}, formatDateTime(d.createdAt)),
      el('td', {}, el('code', {}, d.type)),
      el('td', {}, keyLink(d.keyId)),
      el('td', {}, d.url),
      el('td', {}, el('span', { class: `badge delivery-${d.status}` }, d.status)),
      el('td', { class: 'num' }, String(d.tries)),
      el('td', {}, d.lastStatus === null ? (d.lastError ?? '—') : `HTTP ${d.lastStatus}`),
    ),
  );
  replaceChildren(
    root,
    pageHeading('Alerts'),
    el('p', { class: 'muted' }, 'Signed webhooks for budget thresholds, keys about to expire and revoked keys, each sent once across all instances and retried for about 10 minutes. They are set in the gateway’s config (alerts.webhooks).'),
    dataTable({ caption: 'Alert deliveries', captionHidden: true, head, rows, testId: 'alerts-table', empty: 'No deliveries yet.' }),
  );
};
