import { errors, GatewayError } from './errors.js';

/**
 * Store failures, mapped in one place (docs/operations.md "Redis outage"): every store the gateway opens on
 * Redis is wrapped by `guardStore`, so a failure of Redis or of the connection to it becomes 503
 * store_unavailable on every route, admin included — and only such a failure does. A bug in the code around
 * a call (a TypeError, a Lua runtime error, a reply the code did not expect) stays what it is: a 500 with its
 * stack in the log, never passed off as an outage.
 */

/** Reply-error prefixes Redis sends while it cannot serve (loading, busy script, cluster down, failover, OOM). */
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS|READONLY|OOM|NOAUTH|WRONGPASS|NOPERM|MOVED|ASK)\b/;

/** What ioredis and the socket say when Redis cannot be reached or does not answer in time. */
const CONNECTION_MESSAGES =
  /Command timed out|Stream isn't writeable|Connection is closed|Connection in subscriber mode|connect ETIMEDOUT|ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|Too many Cluster redirections|redis not ready/;

/** ioredis's own error classes for "gave up on this command" (retries spent, every node failed). */
const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'AbortError']);

export function isStoreFailure(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof GatewayError) return false;
  // A programming error is never an outage, whatever its text.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) return false;
  if (err.name === 'ReplyError') return UNAVAILABLE_REPLIES.test(err.message);
  if (UNAVAILABLE_NAMES.has(err.name)) return true;
  const code = (err as { code?: unknown }).code;
  return CONNECTION_MESSAGES.test(err.message) || (typeof code === 'string' && CONNECTION_MESSAGES.test(code));
}

function mapped(err: unknown): Error {
  if (isStoreFailure(err)) return errors.storeUnavailable(err);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The store with every method's failures mapped: a store failure rejects (or throws) as GatewayError
 * store_unavailable, anything else unchanged. Methods are wrapped once, here; the rest of the object is the
 * store itself.
 */
export function guardStore<T extends object>(store: T): T {
  const guarded: Record<string, unknown> = { ...(store as Record<string, unknown>) };
  for (const [name, value] of Object.entries(store as Record<string, unknown>)) {
    if (typeof value !== 'function') continue;
    const method = value as (...args: unknown[]) => unknown;
    guarded[name] = (...args: unknown[]): unknown => {
      let result: unknown;
      try {
        result = method.apply(store, args);
      } catch (err) {
        throw mapped(err);
      }
      return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(mapped(err))) : result;
    };
  }
  return guarded as T;
}
