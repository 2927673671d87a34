import { createHash } from 'node:crypto';
import type { WebhookConfig } from '../config/types.js';
import { signBody } from './signature.js';
import type { AlertEvent, AlertStore, Delivery } from './types.js';

/** Waits before the 2nd, 3rd… try: 6 tries over 9 min 40 s (docs/alerts.md promises at least 5 over 10 minutes). */
export const RETRY_DELAYS_MS: readonly number[] = [10_000, 30_000, 60_000, 180_000, 300_000];
/** A claim outlives every period an event can repeat in (a year of days, a month, or a total). */
const CLAIM_TTL_MS = 400 * 86_400_000;
/** Event ids this instance already handled, so a busy key does not ask the store again on every settlement. */
const MAX_SEEN = 50_000;

/** Sends one POST; resolves with the receiver's status, rejects when it cannot be reached. */
export type PostWebhook = (url: string, body: string, headers: Record<string, string>) => Promise<number>;

export interface AlertDispatcher {
  /** Sends the event to every webhook that subscribes to its type, once across all instances. */
  emit(event: AlertEvent): void;
  /** Resolves when the first try of everything emitted so far is done (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops pending retries (their deliveries stay listed as pending). */
  close(): void;
}

function webhookId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 12);
}

/** The URL as listed: no query, no fragment (a receiver's token often rides in the query). */
export function listedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export function createAlertDispatcher(options: {
  store: AlertStore;
  webhooks: () => readonly WebhookConfig[];
  post: PostWebhook;
  now: () => number;
  retryDelaysMs?: readonly number[];
  onError?: (err: unknown) => void;
}): AlertDispatcher {
  const delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
  const seen = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const firstTries = new Set<Promise<void>>();
  let closed = false;

  const save = (delivery: Delivery): Promise<void> => options.store.saveDelivery(delivery).catch((err: unknown) => options.onError?.(err));

  const attempt = async (delivery: Delivery, webhook: WebhookConfig, body: string, event: AlertEvent): Promise<void> => {
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await options.post(webhook.url, body, {
        'content-type': 'application/json',
        'user-agent': 'xai-gateway-alerts',
        'x-xgw-event': event.type,
        'x-xgw-signature': signBody(body, webhook.secret),
      });
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const ok = status !== null && status >= 200 && status < 300;
    const tries = delivery.tries + 1;
    const next: Delivery = {
      ...delivery,
      tries,
      lastStatus: status,
      lastError: error,
      status: ok ? 'delivered' : tries > delays.length ? 'failed' : 'pending',
      updatedAt: new Date(options.now()).toISOString(),
    };
    await save(next);
    if (next.status !== 'pending' || closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void attempt(next, webhook, body, event);
    }, delays[tries - 1]);
    timer.unref();
    timers.add(timer);
  };

  const deliver = async (event: AlertEvent, webhook: WebhookConfig): Promise<void> => {
    const id = `${event.id}:${webhookId(webhook.url)}`;
    let mine: boolean;
    try {
      mine = await options.store.claim(id, CLAIM_TTL_MS);
    } catch (err) {
      // Without the store no instance can be sure it is the only sender: this one does not send (and may retry
      // on the key's next settlement, the id being forgotten below).
      seen.delete(event.id);
      options.onError?.(err);
      return;
    }
    if (!mine) return;
    const at = new Date(options.now()).toISOString();
    const delivery: Delivery = { id, eventId: event.id, type: event.type, keyId: event.keyId, url: listedUrl(webhook.url), status: 'pending', tries: 0, lastStatus: null, lastError: null, createdAt: at, updatedAt: at };
    await save(delivery);
    await attempt(delivery, webhook, JSON.stringify(event), event);
  };

  return {
    emit(event) {
      if (closed || seen.has(event.id)) return;
      if (seen.size >= MAX_SEEN) seen.clear();
      seen.add(event.id);
      for (const webhook of options.webhooks()) {
        if (!webhook.events.includes(event.type)) continue;
        const first = deliver(event, webhook).catch((err: unknown) => options.onError?.(err));
        firstTries.add(first);
        void first.finally(() => firstTries.delete(first));
      }
    },
    async idle() {
      while (firstTries.size > 0) await Promise.all([...firstTries]);
    },
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
