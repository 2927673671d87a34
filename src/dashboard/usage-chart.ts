import { chartModel, SERIES_COLOURS, type Metric } from './chart-model.js';
import { el, svg, uid } from './dom.js';
import { formatCount, formatUsd } from './format.js';
import type { UsageDay } from './types.js';

/**
 * The usage chart of a key's page: stacked bars per UTC day and model, drawn as SVG by this code (no chart
 * library). Colours come from classes in dashboard.css (the CSP allows no inline style). For screen
 * readers the SVG is one labelled image; the same numbers follow in a table.
 */
export const METRIC_LABELS: Readonly<Record<Metric, string>> = {
  totalTokens: 'Tokens',
  requests: 'Requests',
  costUsd: 'Cost (USD)',
};

export function formatMetric(value: number, metric: Metric): string {
  return metric === 'costUsd' ? formatUsd(value) : formatCount(value);
}

export function renderUsageChart(input: { dates: readonly string[]; days: readonly UsageDay[]; metric: Metric }): HTMLElement {
  const model = chartModel(input);
  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const total = model.bars.reduce((sum, bar) => sum + bar.total, 0);
  const label = METRIC_LABELS[input.metric];
  const first = input.dates[0] ?? '';
  const last = input.dates[input.dates.length - 1] ?? '';

  const chart = svg(
    'svg',
    { class: 'chart', viewBox: `0 0 ${model.width} ${model.height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, 'data-testid': 'usage-chart' },
    svg('title', { id: titleId }, `${label} per day by model`),
    svg('desc', { id: descId }, `${formatMetric(total, input.metric)} in all from ${first} to ${last}${model.models.length > 0 ? `, models: ${model.models.join(', ')}` : ', no usage'}.`),
    ...model.ticks.map((tick) =>
      svg(
        'g',
        { class: 'tick' },
        svg('line', { x1: model.plot.left, x2: model.plot.left + model.plot.width, y1: tick.y, y2: tick.y, class: tick.value === 0 ? 'axis' : 'grid' }),
        svg('text', { x: model.plot.left - 6, y: tick.y + 4, class: 'tick-label', 'text-anchor': 'end' }, formatMetric(tick.value, input.metric)),
      ),
    ),
    ...model.bars.map((bar) =>
      svg(
        'g',
        { class: 'bar', 'data-date': bar.date },
        ...bar.segments.map((segment) =>
          svg(
            'rect',
            { x: bar.x, y: segment.y, width: bar.width, height: segment.height, class: `segment series-${segment.series % SERIES_COLOURS}` },
            svg('title', {}, `${bar.date} · ${segment.model}: ${formatMetric(segment.value, input.metric)}`),
          ),
        ),
      ),
    ),
    ...model.xLabels.map((x) => svg('text', { x: x.x, y: model.height - 8, class: 'tick-label', 'text-anchor': 'middle' }, x.date.slice(5))),
  );

  const legend = el(
    'ul',
    { class: 'legend', 'aria-label': 'Models' },
    ...model.models.map((name, i) => el('li', {}, el('span', { class: `swatch series-${i % SERIES_COLOURS}`, 'aria-hidden': 'true' }), name)),
  );
  return el('figure', { class: 'chart-figure' }, chart, model.models.length > 0 ? legend : el('p', { class: 'muted' }, 'No usage in this period.'));
}

/** The chart's numbers as a table: one row per day and model with usage. */
export function renderUsageTable(days: readonly UsageDay[]): HTMLElement {
  const rows = [...days]
    .sort((a, b) => b.date.localeCompare(a.date))
    .flatMap((day) =>
      Object.entries(day.models).map(([model, usage]) =>
        el(
          'tr',
          {},
          el('td', {}, day.date),
          el('td', {}, model),
          el('td', { class: 'num' }, formatCount(usage.requests)),
          el('td', { class: 'num' }, formatCount(usage.promptTokens)),
          el('td', { class: 'num' }, formatCount(usage.completionTokens)),
          el('td', { class: 'num' }, formatCount(usage.reasoningTokens)),
          el('td', { class: 'num' }, formatCount(usage.totalTokens)),
          el('td', { class: 'num' }, formatUsd(usage.costUsd)),
          el('td', { class: 'num' }, formatCount(usage.refused)),
          el('td', { class: 'num' }, formatCount(usage.failed)),
        ),
      ),
    );
  const head = ['Day (UTC)', 'Model', 'Requests', 'Prompt tokens', 'Completion tokens', 'Reasoning tokens', 'Total tokens', 'Cost', 'Refused', 'Failed'];
  return el(
    'table',
    { class: 'data' },
    el('caption', {}, 'Usage by day and model'),
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: head.length }, 'No usage in this period.'))])),
  );
}
