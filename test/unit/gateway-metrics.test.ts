import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics, instrument } from '../../src/metrics/gateway-metrics.js';
import type { Usage } from '../../src/usage/types.js';
import { prng } from '../helpers/prng.js';

// The per-request counters are kept outside prom-client and handed over at scrape time; the exposition must be
// exactly what direct prom-client calls give (same series, order, labels and values to the last bit).

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The same metrics driven by plain prom-client calls, as the module did before. */
function reference() {
  const registry = new Registry();
  const requests = new Counter({ name: 'xgw_requests_total', help: 'Requests answered, by endpoint name, model and HTTP status.', labelNames: ['endpoint', 'model', 'status'], registers: [registry] });
  const duration = new Histogram({ name: 'xgw_request_duration_seconds', help: 'Time from request to the end of the response (streams included), by endpoint name.', labelNames: ['endpoint'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const tokens = new Counter({ name: 'xgw_tokens_total', help: 'LLM tokens recorded at settlement, by model and kind (prompt, completion, reasoning, cached, total).', labelNames: ['model', 'kind'], registers: [registry] });
  const cost = new Counter({ name: 'xgw_cost_usd_total', help: 'Cost recorded at settlement in USD, by model.', labelNames: ['model'], registers: [registry] });
  return {
    registry,
    requestFinished(endpoint: string, model: string, status: number, seconds: number) {
      requests.inc({ endpoint, model, status: String(status) });
      duration.observe({ endpoint }, seconds);
    },
    usageRecorded(model: string, usage: Usage) {
      tokens.inc({ model, kind: 'prompt' }, usage.promptTokens);
      tokens.inc({ model, kind: 'completion' }, usage.completionTokens);
      tokens.inc({ model, kind: 'reasoning' }, usage.reasoningTokens);
      tokens.inc({ model, kind: 'cached' }, usage.cachedTokens);
      tokens.inc({ model, kind: 'total' }, usage.totalTokens);
      cost.inc({ model }, usage.costTicks / 1e10);
    },
  };
}

/** The families the reference defines, from an exposition. */
function families(text: string, names: readonly string[]): string {
  return text
    .split('\n\n')
    .map((block) => block.trim())
    .filter((block) => names.some((name) => block.includes(`# TYPE ${name} `)))
    .join('\n\n');
}

const NAMES = ['xgw_requests_total', 'xgw_request_duration_seconds', 'xgw_tokens_total', 'xgw_cost_usd_total'];

describe('gateway metrics', () => {
  it('expose exactly what direct prom-client calls expose, scrape after scrape', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const expected = reference();
    const rand = prng(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
    // More distinct models than the label cap (200): the rest count as "other".
    const models = [null, ...Array.from({ length: 230 }, (_, i) => `model-${i}`)];
    const seen = new Set<string>();
    const labelOf = (model: string | null): string => {
      if (model === null) return 'none';
      if (seen.has(model)) return model;
      if (seen.size >= 200) return 'other';
      seen.add(model);
      return model;
    };
    for (let round = 0; round < 4; round += 1) {
      for (let i = 0; i < 3000; i += 1) {
        const model = pick(models);
        const endpoint = pick(['chat.completions', 'responses', 'embeddings', 'gateway']);
        const status = pick([200, 200, 200, 400, 401, 429, 502]);
        const seconds = rand() * 2;
        if (rand() < 0.7) {
          const prompt = Math.floor(rand() * 5000);
          const completion = Math.floor(rand() * 800);
          const usage: Usage = {
            promptTokens: prompt,
            completionTokens: completion,
            reasoningTokens: rand() < 0.5 ? 0 : Math.floor(rand() * 300),
            cachedTokens: Math.floor(rand() * prompt),
            totalTokens: prompt + completion,
            costTicks: Math.floor(rand() * 1e8),
            costFromUpstream: false,
          };
          metrics.usageRecorded(model, usage);
          expected.usageRecorded(labelOf(model), usage);
        }
        metrics.requestFinished({ endpoint, model, status }, seconds);
        expected.requestFinished(endpoint, labelOf(model), status, seconds);
      }
      const actual = families(await metrics.registry.metrics(), NAMES);
      expect(actual).toBe(await expected.registry.metrics().then((text) => families(text, NAMES)));
      // Not vacuous: every family has series, and some fractional cost sums.
      for (const name of NAMES) expect(actual).toMatch(new RegExp(`^${name}(_bucket)?\\{`, 'm'));
      expect(actual).toMatch(/xgw_cost_usd_total\{model="other"\} \d+\.\d+/);
    }
  });

  it('a counter series appears on first use only, and JSON readers see the totals too', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    expect(await metrics.registry.metrics()).not.toContain('xgw_requests_total{');
    metrics.requestFinished({ endpoint: 'chat.completions', model: 'grok-4', status: 200 }, 0.01);
    metrics.requestFinished({ endpoint: 'chat.completions', model: 'grok-4', status: 200 }, 0.01);
    const json = await metrics.registry.getMetricsAsJSON();
    const requests = json.find((m) => m.name === 'xgw_requests_total');
    expect(requests?.values).toEqual([{ value: 2, labels: { endpoint: 'chat.completions', model: 'grok-4', status: '200' } }]);
  });

  it('store calls are timed under <name>.<method> and outcome', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const store = instrument(
      {
        async get(): Promise<number> {
          return 1;
        },
        async fail(): Promise<never> {
          throw new Error('down');
        },
      },
      'keys',
      metrics,
    );
    await store.get();
    await expect(store.fail()).rejects.toThrow('down');
    const text = await metrics.registry.metrics();
    expect(text).toContain('xgw_store_duration_seconds_count{operation="keys.get",outcome="ok"} 1');
    expect(text).toContain('xgw_store_duration_seconds_count{operation="keys.fail",outcome="error"} 1');
  });
});
