import type { ModelPrice } from '../config/types.js';
import { costTicksFor } from './cost.js';
import { estimateTokensFromBytes } from './estimate.js';
import { ZERO_USAGE, type Usage } from './types.js';
import type { ForwardResult } from '../upstream/forward-result.js';

/**
 * The usage to settle for a forwarded request (docs/api.md), from what the relay saw:
 * - nothing reached xAI → null (release the reservation, record nothing);
 * - xAI reported usage → exactly that (a body, a chat stream's usage chunk, a Responses stream's terminal
 *   event; also an error body that carries a cost, like an image moderation rejection);
 * - the client left before xAI's usage arrived (the request reached xAI; a drain did not get the usage in time, or
 *   the gateway aborts on disconnect) → the whole reservation: prompt estimate plus output cap, never less — no
 *   client lowers its charge by hanging up early (docs/api.md), and xAI bills the reasoning done before any answer;
 * - a response cut short otherwise — the upstream broke or stalled, or a stream ended without its terminal event
 *   (e.g. after a mid-stream error event) — or a stream that streamed text but reported no usage → estimated: the
 *   prompt estimate plus the streamed text's tokens, priced from `pricing`;
 * - otherwise (a complete answer without usage: an error, `{"code","error"}` in a 200, a deferred
 *   `{request_id}`, a 202 poll, a file listing) → zero tokens, but the request counts.
 */
export function settlementUsage(
  result: ForwardResult,
  reserved: { promptTokens: number; outputCapTokens: number },
  price: ModelPrice | undefined,
): Usage | null {
  if (!result.sentUpstream) return null;
  if (result.usage !== null) return result.usage;
  const estimatedPromptTokens = reserved.promptTokens;
  if (result.clientAborted || result.cutShort || result.streamedBytes > 0) {
    const streamed = estimateTokensFromBytes(result.streamedBytes);
    const completionTokens = result.clientAborted ? Math.max(streamed, reserved.outputCapTokens) : streamed;
    const counts = { promptTokens: estimatedPromptTokens, cachedTokens: 0, completionTokens, reasoningTokens: 0 };
    return {
      ...counts,
      totalTokens: estimatedPromptTokens + completionTokens,
      costTicks: costTicksFor(counts, price),
      costFromUpstream: false,
    };
  }
  return ZERO_USAGE;
}
