import { GatewayError } from '../errors.js';
import type { AdmissionResult } from './types.js';

/** A refused admission as the client sees it (docs/api.md): 429 with the limit named and Retry-After where known. */
export function admissionRefusal(admission: Extract<AdmissionResult, { admitted: false }>): GatewayError {
  const headers: Record<string, string> = admission.retryAfterSeconds === null ? {} : { 'retry-after': String(admission.retryAfterSeconds) };
  const message =
    admission.code === 'rate_limit_exceeded'
      ? `Rate limit reached (${admission.limit}); retry after the window frees up.`
      : `Quota exhausted (${admission.limit}).`;
  return new GatewayError({ status: 429, code: admission.code, message, headers });
}
