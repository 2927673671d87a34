import { describeError } from './api.js';
import { el, replaceChildren } from './dom.js';
import { formatDateTime } from './format.js';
import { errorMessage, keyLink, pageHeading, type View } from './view.js';

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
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { class: 'data', 'data-testid': 'alerts-table' },
        el('caption', { class: 'visually-hidden' }, 'Alert deliveries'),
        el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: head.length }, 'No deliveries yet.'))])),
      ),
    ),
  );
};
