import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActivityRecorder } from '../../activity/recorder.js';
import type { AlertMonitor, SettledKey } from '../../alerts/monitor.js';
import type { AuthenticatedClient } from '../../keys/client-auth.js';
import type { Limiter, Reservation } from '../../limits/types.js';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import type { Usage } from '../../usage/types.js';
import type { RequestFinished } from '../hooks/request-finished.js';

/** What a request is settled with. */
export interface SettleResult {
  /** What the request is charged, or null to release its reservation and count no usage. */
  usage: Usage | null;
  /** The model xAI reported, used when the request named none. */
  model: string | null;
  /** What metrics count (default: `usage`); differs when the charge was made up front or corrects one. */
  observed?: Usage | null;
  /** The charge corrects one made when the object was created (limits/types.ts SettleInput). */
  correction?: boolean;
}

/** Nothing reached the client from xAI: the reservation is released. */
export const RELEASED: SettleResult = { usage: null, model: null };

export interface SettlementDeps {
  limiter: Limiter;
  metrics: GatewayMetrics;
  now: () => number;
  activity: Pick<ActivityRecorder, 'started' | 'ended'>;
  alerts: Pick<AlertMonitor, 'settled'>;
  finished: RequestFinished;
}

/**
 * The one settlement of an admitted request. handleV1 creates it as soon as the admission is granted, and hands
 * it exactly one outcome: `release()` when the request failed before anything was relayed, or `settleWhen()`
 * with a promise of what the answer produced, resolved once the answer has ended. A second outcome is a bug, and
 * throws. Settling replaces the reservation with the usage (src/limits), counts it in metrics, ends the request's
 * place among those in flight, tells the alert monitor, and only then writes the request's log line and activity
 * record, so that both carry the usage.
 */
export class RequestSettlement {
  #settled = false;
  readonly #keyIds: readonly string[];

  constructor(
    private readonly deps: SettlementDeps,
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly admitted: { reservation: Reservation; client: AuthenticatedClient; model: string | null },
  ) {
    this.#keyIds = admitted.reservation.keyIds;
    // The log line waits for the settlement, which knows the usage.
    request.gw.deferLog = true;
    deps.activity.started(this.#keyIds);
  }

  /** Failed or refused before anything was relayed: release the reservation, count no usage. */
  release(): void {
    this.settleWhen(Promise.resolve(RELEASED));
  }

  /** Settle with what the answer produced, once `outcome` resolves. */
  settleWhen(outcome: Promise<SettleResult>): void {
    if (this.#settled) throw new Error('a request was given a second settlement');
    this.#settled = true;
    void outcome
      .then((result) => this.#settle(result))
      .catch((err: unknown) => this.request.log.error({ err }, 'settlement failed'))
      .finally(() => this.deps.finished(this.request, this.reply));
  }

  async #settle(result: SettleResult): Promise<void> {
    const { deps, admitted } = this;
    this.request.gw.usage = result.usage;
    // Usage is kept under the model the client asked for (what its scopes name); a GET that fetches a result
    // (deferred completion, video) names none, so its creation's is used, else xAI's.
    const model = admitted.model ?? result.model;
    const observed = result.observed === undefined ? result.usage : result.observed;
    if (observed !== null) deps.metrics.usageRecorded(model, observed);
    try {
      await deps.limiter.settle({
        reservation: admitted.reservation,
        usage: result.usage,
        model: model ?? '(none)',
        nowMs: deps.now(),
        correction: result.correction === true,
      });
    } finally {
      deps.activity.ended(this.#keyIds);
    }
    if (result.usage !== null) deps.alerts.settled(() => alertKeysOf(admitted.client));
  }
}

/** The keys whose budgets a settled request of this client spends: the key, and its parent for a child. */
function alertKeysOf(client: AuthenticatedClient): SettledKey[] {
  const familyId = client.parent?.id ?? client.key.id;
  const keys: SettledKey[] = [{ keyId: client.key.id, familyId, limits: client.policy.limits, expiresAt: client.key.expiresAt, isChild: client.parent !== null }];
  if (client.parent !== null && client.parentPolicy !== null) {
    keys.push({ keyId: client.parent.id, familyId, limits: client.parentPolicy.limits, expiresAt: client.parent.expiresAt, isChild: false });
  }
  return keys;
}
