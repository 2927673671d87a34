import { COMMON_LUA } from './common-lua.js';

/** Reads one subject's state for Limiter.remaining() (GET /v1/api-key), in one round trip. */
export const PROBE_LUA = `
-- xai-gateway limiter: PROBE (one subject's counters now; reaps and trims like an admission, reserves nothing).
--
-- KEYS[1]  <base>res   KEYS[2] <base>resexp   KEYS[3] <base>reaped   (as in ADMIT)
-- ARGV[1]  base: '<prefix>v1:{<familyId>}:'
-- ARGV[2]  nowMs      ARGV[3] UTC day id 'YYYY-MM-DD'      ARGV[4] UTC month id 'YYYY-MM'
-- ARGV[5]  keyId      ARGV[6..] its N_LIMITS limits in ENFORCED_LIMITS order (-1 = none)
-- Returns: the subject's N_STATE state numbers (SUBJECT_STATE_FIELDS order, -1 = null), estimate 0.
` + COMMON_LUA + `
local base, nowMs = ARGV[1], tonumber(ARGV[2])
reap(base, KEYS[1], KEYS[2], KEYS[3], nowMs)
local lim = {}
for j = 1, N_LIMITS do lim[j] = tonumber(ARGV[5 + j]) end
return readState(base, ARGV[5], lim, nowMs, ARGV[3], ARGV[4], 0)
`;
