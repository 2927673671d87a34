import type { Estimate, AdmissionVerdict } from './evaluate-admission.js';
import { refusalCode } from './enforced-limits.js';
import type { AdmissionRequest, AdmissionResult, Reservation } from './types.js';

/** The caller's view of a verdict: the Reservation to settle later, or the refusal with its docs/api.md code. */
export function admissionResultOf(request: AdmissionRequest, verdict: AdmissionVerdict): AdmissionResult {
  if (!verdict.admitted) {
    return {
      admitted: false,
      code: refusalCode(verdict.limit),
      limit: verdict.limit,
      keyId: verdict.keyId,
      retryAfterSeconds: verdict.retryAfterSeconds,
      rate: verdict.rate,
    };
  }
  return {
    admitted: true,
    reservation: reservationOf(request),
    rate: verdict.rate,
    headroom: verdict.headroom,
  };
}

export function estimateOf(request: AdmissionRequest): Estimate {
  return { tokens: request.estimatedTokens, costTicks: request.estimatedCostTicks };
}

/** The reservation an admission of `request` makes (or, when its outcome is unknown, would have made). */
export function reservationOf(request: AdmissionRequest): Reservation {
  return {
    requestId: request.requestId,
    familyId: request.familyId,
    keyIds: request.subjects.map((subject) => subject.keyId),
    tokens: request.estimatedTokens,
    costTicks: request.estimatedCostTicks,
    admittedAtMs: request.nowMs,
  };
}
