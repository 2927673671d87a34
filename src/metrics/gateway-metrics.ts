import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import type { Usage } from '../usage/types.js';

/**
 * The gateway's Prometheus metrics (docs/operations.md). One registry per gateway instance (not prom-client's
 * global one), so several gateways in one process — tests, the demo — never collide.
 *
 * Label sets are bounded: endpoints and refusal reasons come from fixed vocabularies; model names come from
 * clients, so at most MAX_MODEL_LABELS distinct ones are kept and the rest count as "other". No label ever
 * carries a key id, a secret or a path.
 */
export interface GatewayMetrics {
  registry: Registry;
  requestFinished(labels: { endpoint: string; model: string | null; status: number }, seconds: number): void;
  upstreamResponded(endpoint: string, seconds: number): void;
  usageRecorded(model: string | null, usage: Usage): void;
  refused(reason: string): void;
  storeCall(operation: string, seconds: number, ok: boolean): void;
  streamStarted(): void;
  streamEnded(): void;
}

const MAX_MODEL_LABELS = 200;
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 2];

export function createGatewayMetrics(options: { defaultMetrics?: boolean; isKnownModel?: (model: string) => boolean } = {}): GatewayMetrics {
  const isKnownModel = options.isKnownModel ?? ((): boolean => true);
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'xgw_' });

  const requests: Counter<RequestLabel> = new Counter({
    name: 'xgw_requests_total',
    help: 'Requests answered, by endpoint name, model and HTTP status.',
    labelNames: ['endpoint', 'model', 'status'] as const,
    registers: [registry],
    collect: (): void => requestTotals.flush(),
  });
  const duration = new Histogram({
    name: 'xgw_request_duration_seconds',
    help: 'Time from request to the end of the response (streams included), by endpoint name.',
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const upstream = new Histogram({
    name: 'xgw_upstream_duration_seconds',
    help: "Time until xAI's response headers arrived, by endpoint name.",
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tokens: Counter<'model' | 'kind'> = new Counter({
    name: 'xgw_tokens_total',
    help: 'LLM tokens recorded at settlement, by model and kind (prompt, completion, reasoning, cached, total).',
    labelNames: ['model', 'kind'] as const,
    registers: [registry],
    collect: (): void => tokenTotals.flush(),
  });
  const cost: Counter<'model'> = new Counter({
    name: 'xgw_cost_usd_total',
    help: 'Cost recorded at settlement in USD, by model.',
    labelNames: ['model'] as const,
    registers: [registry],
    collect: (): void => costTotals.flush(),
  });
  const refusals = new Counter({
    name: 'xgw_refusals_total',
    help: 'Requests refused by the gateway, by reason (a limit name, or the error code of a refused scope or key).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const store = new Histogram({
    name: 'xgw_store_duration_seconds',
    help: 'Store (Redis or in-process) call latency, by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: STORE_BUCKETS,
    registers: [registry],
  });
  const streams = new Gauge({
    name: 'xgw_streams_in_flight',
    help: 'Streamed (SSE) responses being relayed now.',
    registers: [registry],
  });

  const requestTotals: CounterTotals<RequestLabel> = new CounterTotals(requests);
  const tokenTotals: CounterTotals<'model' | 'kind'> = new CounterTotals(tokens);
  const costTotals: CounterTotals<'model'> = new CounterTotals(cost);
  /** The series of one endpoint / model / status, by those three in turn (no key string built per request). */
  const requestSeries = new Map<string, Map<string, Map<number, CounterSeries>>>();
  /** Per model label, its five token series and its cost series. */
  const usageSeries = new Map<string, Record<TokenKind | 'cost', CounterSeries>>();

  const models = new Set<string>();
  const modelLabel = (model: string | null): string => {
    if (model === null) return 'none';
    if (models.has(model)) return model;
    // A model name comes from the client's body: only one xAI or the config knows becomes a label (docs/threat-model.md), so no
    // key can spend the label budget on made-up names.
    if (!isKnownModel(model)) return 'unlisted';
    if (models.size >= MAX_MODEL_LABELS) return 'other';
    models.add(model);
    return model;
  };

  return {
    registry,
    requestFinished(labels, seconds) {
      const { endpoint, status } = labels;
      const model = modelLabel(labels.model);
      const byModel = cached(requestSeries, endpoint, () => new Map<string, Map<number, CounterSeries>>());
      const byStatus = cached(byModel, model, () => new Map<number, CounterSeries>());
      cached(byStatus, status, () => requestTotals.series({ endpoint, model, status: String(status) })).total += 1;
      duration.observe({ endpoint }, seconds);
    },
    upstreamResponded(endpoint, seconds) {
      upstream.observe({ endpoint }, seconds);
    },
    usageRecorded(model, usage) {
      const label = modelLabel(model);
      const series = cached(usageSeries, label, () => ({
        prompt: tokenTotals.series({ model: label, kind: 'prompt' }),
        completion: tokenTotals.series({ model: label, kind: 'completion' }),
        reasoning: tokenTotals.series({ model: label, kind: 'reasoning' }),
        cached: tokenTotals.series({ model: label, kind: 'cached' }),
        total: tokenTotals.series({ model: label, kind: 'total' }),
        cost: costTotals.series({ model: label }),
      }));
      series.prompt.total += usage.promptTokens;
      series.completion.total += usage.completionTokens;
      series.reasoning.total += usage.reasoningTokens;
      series.cached.total += usage.cachedTokens;
      series.total.total += usage.totalTokens;
      series.cost.total += usage.costTicks / 1e10;
    },
    refused(reason) {
      refusals.inc({ reason });
    },
    storeCall(operation, seconds, ok) {
      store.observe({ operation, outcome: ok ? 'ok' : 'error' }, seconds);
    },
    streamStarted() {
      streams.inc();
    },
    streamEnded() {
      streams.dec();
    },
  };
}

type RequestLabel = 'endpoint' | 'model' | 'status';
type TokenKind = 'prompt' | 'completion' | 'reasoning' | 'cached' | 'total';

interface CounterSeries {
  total: number;
}

/**
 * The series of a per-request counter, counted in plain numbers and handed to prom-client when the registry is
 * read (the counter's `collect`, which every scrape runs first). prom-client's own inc() hashes the label set
 * and looks the series up by that string on every call — with six counter increments per settled request that
 * was a measurable share of a request's CPU; here an increment is an addition to a series found by Map lookups.
 * Each total is summed in the order prom-client would have summed it, and the series are handed over in the
 * order of first use, so the exposition is the same as with direct inc() calls, to the last bit. The number of
 * series is bounded like the label sets (fixed vocabularies, HTTP statuses, at most MAX_MODEL_LABELS models).
 */
class CounterTotals<L extends string> {
  private readonly all: { labels: LabelValues<L>; series: CounterSeries }[] = [];

  constructor(private readonly counter: Counter<L>) {}

  /** A new series, to be incremented at once (prom-client, too, creates a series on its first inc). */
  series(labels: LabelValues<L>): CounterSeries {
    const series = { total: 0 };
    this.all.push({ labels, series });
    return series;
  }

  flush(): void {
    this.counter.reset();
    for (const { labels, series } of this.all) this.counter.inc(labels, series.total);
  }
}

function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

/**
 * Wraps every method of a store-facing object so each call's latency lands in xgw_store_duration_seconds
 * under `<name>.<method>`, whatever the implementation.
 */
export function instrument<T extends object>(target: T, name: string, metrics: GatewayMetrics): T {
  const wrapped: Record<string, unknown> = {};
  // Own properties and, for class instances, methods up the prototype chain.
  const names = new Set<string>();
  for (let o: object | null = target; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor') names.add(name);
  }
  const source = target as Record<string, unknown>;
  for (const key of names) {
    const value = source[key];
    if (typeof value !== 'function') {
      wrapped[key] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    // Built once per method, not per call.
    const operation = `${name}.${key}`;
    wrapped[key] = (...args: unknown[]): unknown => {
      const started = process.hrtime.bigint();
      const result = fn.apply(target, args);
      if (!(result instanceof Promise)) return result;
      return result.then(
        (v: unknown) => {
          metrics.storeCall(operation, Number(process.hrtime.bigint() - started) / 1e9, true);
          return v;
        },
        (err: unknown) => {
          metrics.storeCall(operation, Number(process.hrtime.bigint() - started) / 1e9, false);
          throw err;
        },
      );
    };
  }
  return wrapped as T;
}
