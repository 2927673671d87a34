import { TPM_BUCKET_MS, TPM_WINDOW_BUCKETS, WINDOW_MS } from './semantics.js';

/**
 * Rolling-window arithmetic of the per-minute limits (src/limits/semantics.ts). The in-process limiter uses
 * these directly; the Lua script mirrors them line for line (src/limits/lua/tpm-lua.ts, read-state-lua.ts).
 */

export function tpmSecondOf(nowMs: number): number {
  return Math.floor(nowMs / TPM_BUCKET_MS);
}

/** Oldest bucket second still counted at nowMs (buckets below it are outside the window). */
export function tpmWindowStartSecond(nowMs: number): number {
  return tpmSecondOf(nowMs) - (TPM_WINDOW_BUCKETS - 1);
}

/** Epoch ms at which the bucket of `second` stops being counted. */
export function tpmBucketLeavesAtMs(second: number): number {
  return (second + TPM_WINDOW_BUCKETS) * TPM_BUCKET_MS;
}

export interface TpmBucket {
  second: number;
  tokens: number;
}

/**
 * The bucket (ascending walk) whose leaving frees at least `need` tokens, counting every older bucket too.
 * null when nothing needs to leave (need ≤ 0) or the whole window is not enough.
 */
export function tpmReleaseSecond(sortedBuckets: readonly TpmBucket[], need: number): number | null {
  if (need <= 0) return null;
  let freed = 0;
  for (const bucket of sortedBuckets) {
    freed += bucket.tokens;
    if (freed >= need) return bucket.second;
  }
  return null;
}

/**
 * requestsPerMinute counts requests in the same per-second buckets as tokensPerMinute (a request is 1). Its state
 * speaks in "log" milliseconds (evaluate-admission.ts adds WINDOW_MS to find when room opens): a bucket's is the
 * moment that plus WINDOW_MS is when the bucket leaves the window.
 */
export function rpmBucketMs(second: number): number {
  return tpmBucketLeavesAtMs(second) - WINDOW_MS;
}

/** Oldest bucket holding tokens (> 0), or null. */
export function tpmOldestSecond(sortedBuckets: readonly TpmBucket[]): number | null {
  for (const bucket of sortedBuckets) if (bucket.tokens > 0) return bucket.second;
  return null;
}
