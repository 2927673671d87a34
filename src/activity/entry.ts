import { recordedModelName } from '../limits/usage-totals.js';
import type { Usage } from '../usage/types.js';
import { classifyOutcome } from './classify.js';
import type { ActivityEntry } from './types.js';

/** Model names kept in a log line: bounded, as a client may send anything. */
const MAX_LOGGED_MODEL = 128;

/** The facts of one finished, authenticated request, gathered by the HTTP layer. */
export interface FinishedRequest {
  atMs: number;
  requestId: string;
  keyId: string;
  /** Its parent's id for a child key, else null. */
  parentId: string | null;
  endpoint: string | null;
  model: string | null;
  status: number;
  gatewayCode: string | null;
  forwarded: boolean;
  streamed: boolean;
  broken: boolean;
  usage: Usage | null;
  latencyMs: number;
}

/**
 * One log line and its outcome. A request the gateway refused may name any model (a hostile client can send a
 * new name each time), so its outcome is counted under its model only when `knownModel` says the name is one
 * the config or xAI knows, else under "(other)": stored names cannot be flooded (docs/threat-model.md).
 */
export function activityEntry(request: FinishedRequest, knownModel: (model: string) => boolean): ActivityEntry {
  const outcome = classifyOutcome({ status: request.status, gatewayCode: request.gatewayCode, forwarded: request.forwarded, broken: request.broken });
  const model = request.model;
  const countedModel =
    model === null ? '(none)' : outcome === 'refused' && !knownModel(model) ? '(other)' : recordedModelName(model);
  const at = new Date(request.atMs).toISOString();
  const usage = request.usage;
  return {
    familyId: request.parentId ?? request.keyId,
    keyIds: request.parentId === null ? [request.keyId] : [request.keyId, request.parentId],
    day: at.slice(0, 10),
    model: countedModel,
    outcome,
    record: {
      at,
      requestId: request.requestId,
      keyId: request.keyId,
      endpoint: request.endpoint ?? 'unknown',
      model: model === null ? null : model.slice(0, MAX_LOGGED_MODEL),
      status: request.status,
      code: request.gatewayCode,
      promptTokens: usage?.promptTokens ?? 0,
      completionTokens: usage?.completionTokens ?? 0,
      reasoningTokens: usage?.reasoningTokens ?? 0,
      costUsd: (usage?.costTicks ?? 0) / 1e10,
      latencyMs: Math.round(request.latencyMs * 100) / 100,
      streamed: request.streamed,
    },
  };
}
