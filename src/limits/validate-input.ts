import type { Usage } from '../usage/types.js';
import type { AdmissionRequest } from './types.js';

/**
 * Input checks shared by both limiters. Bad input is a programming error of the caller (RangeError), never
 * silently "unlimited". Ids become Redis key parts, so they must not contain the hash-tag braces, the `:`
 * separator or the `|` used inside reservation records.
 */

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_REQUEST_ID_LENGTH = 256;

export function assertId(what: string, value: string): void {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new RangeError(`${what} must match ${String(ID_PATTERN)}`);
  }
}

export function assertRequestId(value: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_REQUEST_ID_LENGTH) {
    throw new RangeError(`requestId must be a string of 1..${MAX_REQUEST_ID_LENGTH} characters`);
  }
}

export function assertCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer`);
}

export function assertAdmissionRequest(request: AdmissionRequest): void {
  assertRequestId(request.requestId);
  assertId('familyId', request.familyId);
  if (request.subjects.length === 0) throw new RangeError('subjects must not be empty');
  const seen = new Set<string>();
  for (const subject of request.subjects) {
    assertId('keyId', subject.keyId);
    if (seen.has(subject.keyId)) throw new RangeError('subjects must be distinct keys');
    seen.add(subject.keyId);
  }
  assertCount('estimatedTokens', request.estimatedTokens);
  assertCount('estimatedCostTicks', request.estimatedCostTicks);
  assertCount('nowMs', request.nowMs);
  assertCount('leaseMs', request.leaseMs);
  if (request.leaseMs === 0) throw new RangeError('leaseMs must be positive');
}

/** Usage counts are non-negative safe integers; a correction's (SettleInput.correction) may be negative. */
export function assertUsage(usage: Usage, correction = false): void {
  const check = correction ? assertSignedCount : assertCount;
  check('usage.promptTokens', usage.promptTokens);
  check('usage.completionTokens', usage.completionTokens);
  check('usage.reasoningTokens', usage.reasoningTokens);
  check('usage.cachedTokens', usage.cachedTokens);
  check('usage.totalTokens', usage.totalTokens);
  check('usage.costTicks', usage.costTicks);
}

function assertSignedCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer`);
}
