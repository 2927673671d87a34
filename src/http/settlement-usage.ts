import type { ModelPrice } from '../config/types.js';
import { costTicksFor } from '../usage/cost.js';
import { estimateTokensFromText } from '../usage/estimate.js';
import { ZERO_USAGE, type Usage } from '../usage/types.js';
import type { ForwardResult } from './forward.js';

/**
 * The usage to settle for a forwarded request (SPEC §5), from what the relay saw:
 * - xAI reported usage → exactly that;
 * - nothing reached xAI → null (release the reservation, record nothing);
 * - a stream cut short (client gone, upstream broke) → estimated from what was streamed: the prompt estimate
 *   plus the streamed text's tokens, priced from `pricing` — xAI bills generated tokens whether or not the
 *   client read them, so recording nothing would undercount;
 * - otherwise (an error without usage) → zero tokens, but the request counts.
 */
export function settlementUsage(result: ForwardResult, estimatedPromptTokens: number, price: ModelPrice | undefined): Usage | null {
  if (!result.sentUpstream) return null;
  if (result.usage !== null) return result.usage;
  if (result.clientAborted || result.streamedText.length > 0) {
    const completionTokens = estimateTokensFromText(result.streamedText);
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
