import { record, text } from './json-read.js';
import { formatCount, formatPairs, formatTable, formatUsd } from './text-table.js';

/** The operator's view answers (request log, overview, alert deliveries) as text. Pure. */

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

function percent(share: unknown): string {
  return `${(num(share) * 100).toFixed(1)} %`;
}

export function formatRequests(page: Readonly<Record<string, unknown>>): string {
  const lines = list(page.data);
  if (lines.length === 0) return 'No requests logged for this key.';
  const rows = lines.map((line) => {
    const l = record(line);
    return [
      text(l.at),
      text(l.requestId),
      text(l.keyId),
      text(l.endpoint),
      l.model === null ? '-' : text(l.model),
      String(num(l.status)),
      l.code === null ? '-' : text(l.code),
      formatCount(num(l.promptTokens) + num(l.completionTokens) + num(l.reasoningTokens)),
      formatUsd(num(l.costUsd)),
      `${num(l.latencyMs).toFixed(1)} ms`,
      l.streamed === true ? 'yes' : 'no',
    ];
  });
  const table = formatTable(['AT', 'REQUEST ID', 'KEY', 'ENDPOINT', 'MODEL', 'STATUS', 'CODE', 'TOKENS', 'COST', 'LATENCY', 'STREAM'], rows, [5, 7, 8, 9]);
  return `${table}\n\n${lines.length} ${lines.length === 1 ? 'request' : 'requests'}, newest first (--limit up to 1000)`;
}

export function formatOverview(body: Readonly<Record<string, unknown>>): string {
  const totals = record(body.totals);
  const today = record(totals.today);
  const month = record(totals.month);
  const rates = record(body.errorRate);
  const head = formatPairs([
    ['today (UTC)', text(body.date)],
    ['requests in flight', String(num(body.inFlight))],
    ['today', `${formatCount(num(today.requests))} requests, ${formatCount(num(today.totalTokens))} tokens, ${formatUsd(num(today.costUsd))}; ${formatCount(num(today.refused))} refused, ${formatCount(num(today.failed))} failed (error rate ${percent(rates.today)})`],
    ['this month', `${formatCount(num(month.requests))} requests, ${formatCount(num(month.totalTokens))} tokens, ${formatUsd(num(month.costUsd))} (error rate ${percent(rates.month)})`],
  ]);
  const top = list(body.topKeys).map((entry) => {
    const k = record(entry);
    return [text(k.keyId), text(k.name), formatCount(num(k.requests)), formatUsd(num(k.costUsd))];
  });
  const near = list(body.nearLimit).map((entry) => {
    const n = record(entry);
    return [text(n.keyId), text(n.name), text(n.limit), `${String(num(n.used))} of ${String(num(n.max))}`, percent(n.share)];
  });
  return [
    head,
    '',
    'Top keys by cost today:',
    top.length === 0 ? '  none yet' : formatTable(['KEY', 'NAME', 'REQUESTS', 'COST'], top, [2, 3]),
    '',
    'Keys close to a limit (80 % or more of a day or month budget):',
    near.length === 0 ? '  none' : formatTable(['KEY', 'NAME', 'LIMIT', 'USED', 'SHARE'], near, [4]),
  ].join('\n');
}

export function formatAlerts(page: Readonly<Record<string, unknown>>): string {
  const deliveries = list(page.data);
  if (deliveries.length === 0) return 'No alert deliveries yet (alerts.webhooks in the config turns them on).';
  const rows = deliveries.map((entry) => {
    const d = record(entry);
    return [text(d.createdAt), text(d.type), text(d.keyId), text(d.url), text(d.status), String(num(d.tries)), d.lastStatus === null ? text(d.lastError) : String(num(d.lastStatus))];
  });
  return formatTable(['AT', 'EVENT', 'KEY', 'WEBHOOK', 'STATUS', 'TRIES', 'LAST ANSWER'], rows, [5]);
}
