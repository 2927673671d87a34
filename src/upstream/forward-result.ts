import type { Usage } from '../usage/types.js';

/** What happened upstream, known once the response to the client has ended (or the client left). */
export interface ForwardResult {
  /** The request was written in full to xAI's connection (so it counts as usage, docs/api.md). */
  sentUpstream: boolean;
  /** xAI's status, or 499 when the client left before xAI answered. */
  status: number;
  /** xAI's reported usage, or null when none arrived (cut-short stream, error without usage). */
  usage: Usage | null;
  /** UTF-8 bytes of the text streamed before the end, to estimate usage of a stream cut short. */
  streamedBytes: number;
  /** The client went away before the response ended. */
  clientAborted: boolean;
  /**
   * The response did not end the way xAI ends a complete one: an SSE stream without its terminal event
   * (`[DONE]`, `response.completed`/`incomplete`/`failed`) — the client left, the upstream broke or stalled past
   * the body idle timeout, or xAI ended it after an error event (docs/upstream.md §5.1, §6.4).
   */
  cutShort: boolean;
  /** The model xAI reported (a resolved alias, or the model of a fetched result), if seen. */
  upstreamModel: string | null;
}
