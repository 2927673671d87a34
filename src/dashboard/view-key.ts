import { describeError } from './api.js';
import type { Metric } from './chart-model.js';
import { el, replaceChildren, uid, type Child } from './dom.js';
import { formatCount, formatDateTime, formatUsd, lastDays, listOrDash } from './format.js';
import { displayState } from './key-state.js';
import { secretBox } from './secret-box.js';
import type { KeyRecord, KeyWithUsage, RequestLine } from './types.js';
import { METRIC_LABELS, renderUsageChart, renderUsageTable } from './usage-chart.js';
import { dataTable, errorMessage, keyLink, pageHeading, stateBadge, type View, type ViewContext } from './view.js';

/** Longest rotation grace the admin API accepts (docs/api.md; src/http/admin/admin-key-lifecycle.ts). */
const MAX_GRACE_SECONDS = 604_800;

function details(key: KeyRecord, nowMs: number): HTMLElement {
  const rows: [string, Child][] = [
    ['Key id', el('code', {}, key.id)],
    ['State', stateBadge(displayState(key, nowMs))],
    ['Plan', key.plan ?? '—'],
    ['Parent key', key.parentId === null ? '—' : keyLink(key.parentId)],
    ['Models', listOrDash(key.models)],
    ['Endpoints', listOrDash(key.endpoints)],
    ['Collections', listOrDash(key.collections ?? null)],
    ['Limits', Object.keys(key.limits).length === 0 ? '— (the plan’s, or none)' : Object.entries(key.limits).map(([name, value]) => `${name}: ${value}`).join(', ')],
    ['Allowed origins', key.allowedOrigins === null ? 'any' : key.allowedOrigins.join(', ')],
    ['Allowed IPs', key.allowedIps === null ? 'any' : key.allowedIps.join(', ')],
    ['Expires', key.expiresAt === null ? 'never' : formatDateTime(key.expiresAt)],
    ['Created', formatDateTime(key.createdAt)],
    ['Revoked', key.revokedAt === null ? '—' : formatDateTime(key.revokedAt)],
    ['Can mint child keys', key.mint === null ? 'no' : `yes, each living at most ${formatCount(key.mint.maxTtlSeconds)} s`],
    ['Metadata', Object.keys(key.metadata).length === 0 ? '—' : Object.entries(key.metadata).map(([k, v]) => `${k}=${v}`).join(', ')],
  ];
  return el('dl', { class: 'details' }, ...rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

function usageSection(ctx: ViewContext, key: KeyWithUsage): HTMLElement {
  const today = key.usage.today;
  const period = el('select', { id: 'usage-period' }, ...[7, 14, 30].map((n) => el('option', { value: n, selected: n === 14 }, `Last ${n} days`)));
  const metric = el('select', { id: 'usage-metric' }, ...(Object.keys(METRIC_LABELS) as Metric[]).map((m) => el('option', { value: m }, METRIC_LABELS[m])));
  const chart = el('div', { class: 'chart-slot', 'aria-busy': 'true' }, el('p', { class: 'muted' }, 'Loading usage…'));
  const table = el('div', {});
  const controls = el(
    'form',
    { class: 'filters', 'aria-label': 'Usage chart options' },
    el('div', { class: 'field' }, el('label', { for: 'usage-period' }, 'Period'), period),
    el('div', { class: 'field' }, el('label', { for: 'usage-metric' }, 'Show'), metric),
  );
  controls.addEventListener('submit', (event) => event.preventDefault());
  const download = el('button', { type: 'button', class: 'button', 'data-testid': 'csv-download' }, 'Download CSV');
  download.addEventListener('click', () => {
    const dates = lastDays(ctx.nowMs(), Number(period.value));
    const range = { from: dates[0] ?? '', to: dates[dates.length - 1] ?? '' };
    ctx.api
      .keyUsageCsv(key.id, range)
      .then((csv) => {
        // Fetched with the admin token (never put in a URL), then handed to the browser as a file.
        const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
        const link = el('a', { href: url, download: `${key.id}-${range.from}-${range.to}.csv`, class: 'visually-hidden' }, 'download');
        document.body.append(link);
        link.click();
        link.remove();
        window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
        ctx.announce('Usage downloaded as CSV.');
      })
      .catch((err: unknown) => ctx.announce(describeError(err)));
  });
  controls.append(el('div', { class: 'field' }, download));

  const load = async (): Promise<void> => {
    const dates = lastDays(ctx.nowMs(), Number(period.value));
    chart.setAttribute('aria-busy', 'true');
    try {
      const report = await ctx.api.keyUsage(key.id, { from: dates[0] ?? '', to: dates[dates.length - 1] ?? '' });
      replaceChildren(chart, renderUsageChart({ dates, days: report.days, metric: metric.value as Metric }));
      replaceChildren(table, renderUsageTable(report.days));
    } catch (err) {
      replaceChildren(chart, errorMessage(describeError(err)));
    } finally {
      chart.setAttribute('aria-busy', 'false');
    }
  };
  period.addEventListener('change', () => void load());
  metric.addEventListener('change', () => void load());
  void load();

  return el(
    'section',
    { 'aria-labelledby': 'usage-heading' },
    el('h2', { id: 'usage-heading' }, 'Usage'),
    el(
      'p',
      { 'data-testid': 'usage-today' },
      'Today (UTC): ',
      el('strong', { 'data-testid': 'usage-today-requests' }, formatCount(today.requests)),
      ` ${today.requests === 1 ? 'request' : 'requests'}, ${formatCount(today.totalTokens)} tokens, ${formatUsd(today.costUsd)}.`,
      key.mint !== null ? ' Includes the usage of its child keys.' : '',
    ),
    el(
      'p',
      { 'data-testid': 'usage-errors' },
      `Refused ${formatCount(today.refused)}, failed ${formatCount(today.failed)}: error rate `,
      el('strong', { 'data-testid': 'error-rate' }, errorRate(today)),
      '. In flight now: ',
      el('strong', { 'data-testid': 'in-flight' }, formatCount(key.live.inFlight)),
      '.',
    ),
    controls,
    chart,
    el('details', {}, el('summary', {}, 'The numbers as a table'), table),
  );
}

function actionsSection(ctx: ViewContext, key: KeyRecord, reload: () => void): HTMLElement | null {
  if (key.source === 'config') {
    return el('section', { 'aria-labelledby': 'actions-heading' }, el('h2', { id: 'actions-heading' }, 'Actions'), el('p', {}, 'This key is declared in the gateway’s YAML config: change or remove it there (read-only here).'));
  }
  if (key.revokedAt !== null) return null;
  const result = el('div', {});
  const grace = el('input', { id: 'rotate-grace', type: 'number', min: 0, max: MAX_GRACE_SECONDS, step: 1, value: 0, 'aria-describedby': 'rotate-grace-hint' });
  const rotate = el('button', { type: 'submit', class: 'button' }, 'Rotate secret');
  const rotateForm = el(
    'form',
    { class: 'inline-form' },
    el(
      'fieldset',
      {},
      el('legend', {}, 'Rotate the secret'),
      el('div', { class: 'field' }, el('label', { for: 'rotate-grace' }, 'Grace period (seconds)'), grace),
      el('p', { id: 'rotate-grace-hint', class: 'hint' }, `The old secret keeps working this long (0 to ${formatCount(MAX_GRACE_SECONDS)}, a week); 0 stops it at once.`),
      rotate,
    ),
  );
  rotateForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const seconds = Number(grace.value);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_GRACE_SECONDS) {
      replaceChildren(result, errorMessage(`The grace period must be a whole number of seconds from 0 to ${MAX_GRACE_SECONDS}.`));
      return;
    }
    rotate.disabled = true;
    ctx.api
      .rotateKey(key.id, seconds)
      .then((rotated) => {
        const until = rotated.previousKeyValidUntil;
        replaceChildren(
          result,
          secretBox(ctx, {
            heading: 'New secret',
            secret: rotated.key,
            note: seconds > 0 && until !== undefined ? `The previous secret keeps working until ${formatDateTime(until)}.` : 'The previous secret no longer works.',
          }),
        );
        ctx.announce('Secret rotated. Copy the new secret now: it is shown only this once.');
      })
      .catch((err: unknown) => replaceChildren(result, errorMessage(describeError(err))))
      .finally(() => {
        rotate.disabled = false;
      });
  });

  const dialogHeading = uid('revoke-heading');
  const confirm = el('button', { type: 'submit', value: 'revoke', class: 'button danger' }, 'Revoke key');
  const dialog = el(
    'dialog',
    { 'aria-labelledby': dialogHeading, class: 'confirm' },
    el('h2', { id: dialogHeading }, `Revoke “${key.name}”?`),
    el('p', {}, 'It stops working at once on every gateway instance, and so do its child keys. The record stays for the audit log. This cannot be undone.'),
    el('form', { method: 'dialog', class: 'actions' }, el('button', { type: 'submit', value: 'cancel', class: 'button' }, 'Cancel'), confirm),
  );
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'revoke') return;
    ctx.api
      .revokeKey(key.id)
      .then(() => {
        ctx.announce(`Key ${key.name} revoked.`);
        reload();
      })
      .catch((err: unknown) => replaceChildren(result, errorMessage(describeError(err))));
  });
  const revoke = el('button', { type: 'button', class: 'button danger' }, 'Revoke…');
  revoke.addEventListener('click', () => {
    dialog.returnValue = '';
    dialog.showModal();
  });
  return el(
    'section',
    { 'aria-labelledby': 'actions-heading' },
    el('h2', { id: 'actions-heading' }, 'Actions'),
    el('div', { class: 'action-row' }, rotateForm, el('fieldset', {}, el('legend', {}, 'Revoke'), el('p', { class: 'hint' }, 'The key and its child keys stop working for good.'), revoke)),
    result,
    dialog,
  );
}

async function childrenSection(ctx: ViewContext, key: KeyRecord): Promise<HTMLElement | null> {
  if (key.parentId !== null) return null;
  const section = el('section', { 'aria-labelledby': 'children-heading' }, el('h2', { id: 'children-heading' }, 'Child keys'));
  let children: KeyRecord[];
  try {
    children = (await ctx.api.children(key.id)).data;
  } catch (err) {
    section.append(errorMessage(describeError(err)));
    return section;
  }
  if (children.length === 0) {
    section.append(el('p', { class: 'muted' }, key.mint === null ? 'None: this key cannot mint child keys.' : 'None minted yet.'));
    return section;
  }
  const nowMs = ctx.nowMs();
  const head = ['Name', 'Key id', 'State', 'Origins', 'Expires', 'Created'];
  section.append(
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { class: 'data', 'data-testid': 'children-table' },
        el('caption', { class: 'visually-hidden' }, 'Child keys'),
        el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
        el(
          'tbody',
          {},
          ...children.map((child) =>
            el(
              'tr',
              {},
              el('td', {}, keyLink(child.id, child.name)),
              el('td', {}, el('code', {}, child.id)),
              el('td', {}, stateBadge(displayState(child, nowMs))),
              el('td', {}, child.allowedOrigins?.join(', ') ?? 'any'),
              el('td', {}, formatDateTime(child.expiresAt)),
              el('td', {}, formatDateTime(child.createdAt)),
            ),
          ),
        ),
      ),
    ),
  );
  return section;
}

function errorRate(u: { requests: number; refused: number; failed: number }): string {
  const attempts = u.requests + u.refused;
  return attempts === 0 ? '0 %' : `${(((u.refused + u.failed) / attempts) * 100).toFixed(1)} %`;
}

export function requestLink(keyId: string, requestId: string): HTMLAnchorElement {
  return el('a', { href: `#/keys/${encodeURIComponent(keyId)}/requests/${encodeURIComponent(requestId)}` }, requestId);
}

function requestRow(keyId: string, line: RequestLine): HTMLElement {
  const tokens = line.promptTokens + line.completionTokens + line.reasoningTokens;
  return el(
    'tr',
    { class: line.status >= 400 ? 'row-error' : '' },
    el('td', {}, formatDateTime(line.at)),
    el('td', {}, requestLink(keyId, line.requestId)),
    el('td', {}, line.keyId === keyId ? 'this key' : keyLink(line.keyId)),
    el('td', {}, line.endpoint),
    el('td', {}, line.model ?? '—'),
    el('td', { class: 'num' }, String(line.status)),
    el('td', {}, line.code ?? '—'),
    el('td', { class: 'num' }, formatCount(tokens)),
    el('td', { class: 'num' }, formatUsd(line.costUsd)),
    el('td', { class: 'num' }, `${line.latencyMs.toFixed(0)} ms`),
    el('td', {}, line.streamed ? 'yes' : 'no'),
  );
}

async function requestsSection(ctx: ViewContext, key: KeyRecord): Promise<HTMLElement> {
  const section = el('section', { 'aria-labelledby': 'requests-heading' }, el('h2', { id: 'requests-heading' }, 'Recent requests'));
  let lines: RequestLine[];
  try {
    lines = (await ctx.api.keyRequests(key.id, 100)).data;
  } catch (err) {
    section.append(errorMessage(describeError(err)));
    return section;
  }
  const head = ['Time', 'Request id', 'Key', 'Endpoint', 'Model', 'Status', 'Code', 'Tokens', 'Cost', 'Latency', 'Streamed'];
  section.append(
    el('p', { class: 'hint' }, 'The last 100, newest first, its child keys’ included. Metadata only: the gateway never keeps prompt or answer text.'),
    dataTable({ caption: 'Recent requests', captionHidden: true, head, rows: lines.map((line) => requestRow(key.id, line)), testId: 'requests-table', empty: 'No requests yet.' }),
  );
  return section;
}

/** One request of a key's log, every field of it (`#/keys/<id>/requests/<requestId>`). */
export function requestView(keyId: string, requestId: string): View {
  return async (ctx, root) => {
    const back = el('p', { class: 'breadcrumb' }, el('a', { href: '#/keys' }, 'Keys'), ' / ', keyLink(keyId), ' / request');
    let line: RequestLine | undefined;
    try {
      line = (await ctx.api.keyRequests(keyId, 1000)).data.find((l) => l.requestId === requestId);
    } catch (err) {
      replaceChildren(root, back, pageHeading('Request'), errorMessage(describeError(err)));
      return;
    }
    if (line === undefined) {
      replaceChildren(root, back, pageHeading('Request'), errorMessage('This request is not among the key’s last 1000.'));
      return;
    }
    const rows: [string, Child][] = [
      ['Request id', el('code', { 'data-testid': 'request-id' }, line.requestId)],
      ['Time', formatDateTime(line.at)],
      ['Key', keyLink(line.keyId)],
      ['Endpoint', line.endpoint],
      ['Model', line.model ?? '—'],
      ['Status', String(line.status)],
      ['Error code', line.code ?? '—'],
      ['Prompt tokens', formatCount(line.promptTokens)],
      ['Completion tokens', formatCount(line.completionTokens)],
      ['Reasoning tokens', formatCount(line.reasoningTokens)],
      ['Cost', formatUsd(line.costUsd)],
      ['Latency', `${line.latencyMs} ms`],
      ['Streamed', line.streamed ? 'yes' : 'no'],
    ];
    replaceChildren(root, back, pageHeading(`Request ${line.requestId}`), el('dl', { class: 'details' }, ...rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)])));
  };
}

/** A key's page: its record, usage by day and model as a chart, rotate, revoke, its child keys. */
export function keyView(id: string): View {
  const view: View = async (ctx, root) => {
    let key: KeyWithUsage;
    try {
      key = await ctx.api.getKey(id);
    } catch (err) {
      replaceChildren(root, pageHeading('Key'), errorMessage(describeError(err)), el('p', {}, el('a', { href: '#/keys' }, 'Back to the keys')));
      return;
    }
    const nowMs = ctx.nowMs();
    const heading = pageHeading(key.name);
    replaceChildren(
      root,
      el('p', { class: 'breadcrumb' }, el('a', { href: '#/keys' }, 'Keys'), ' / ', el('code', {}, key.id)),
      el(
        'div',
        { class: 'page-head' },
        heading,
        stateBadge(displayState(key, nowMs)),
        key.source === 'api' && key.revokedAt === null ? el('a', { href: `#/keys/${encodeURIComponent(key.id)}/edit`, class: 'button' }, 'Edit') : null,
      ),
      details(key, nowMs),
      usageSection(ctx, key),
      actionsSection(ctx, key, () => void view(ctx, root).then(() => root.querySelector('h1')?.focus())),
    );
    const [requests, children] = await Promise.all([requestsSection(ctx, key), childrenSection(ctx, key)]);
    root.append(requests);
    if (children !== null) root.append(children);
  };
  return view;
}
