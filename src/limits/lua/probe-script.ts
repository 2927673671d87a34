import { COMMON_LUA } from './common-lua.js';
import { READ_STATE_LUA } from './read-state-lua.js';

/** Reads one subject's state for Limiter.remaining() (GET /v1/api-key), in one round trip. */
export const PROBE_LUA = `
-- xai-gateway limiter: PROBE (one subject's counters now; reaps and trims like an admission, reserves nothing).
--
-- KEYS[1]  <base>res   KEYS[2] <base>resexp   (as in ADMIT)
-- ARGV[1]  base: '<prefix>v1:{<familyId>}:'
-- ARGV[2]  nowMs      ARGV[3] UTC day id 'YYYY-MM-DD'      ARGV[4] UTC month id 'YYYY-MM'
-- ARGV[5]  keyId      ARGV[6] k, then k pairs: limit index (1-based, ENFORCED_LIMITS order), limit
-- Returns: the subject's N_STATE state numbers (SUBJECT_STATE_FIELDS order, -1 = null), estimate 0.
` + COMMON_LUA + READ_STATE_LUA + `
local base, nowMs = ARGV[1], tonumber(ARGV[2])
local p = periodFields(ARGV[3], ARGV[4])
reap(base, KEYS[1], KEYS[2], nowMs, p)
local lim = {}
for j = 7, 6 + 2 * tonumber(ARGV[6]), 2 do lim[tonumber(ARGV[j])] = tonumber(ARGV[j + 1]) end
local state = readState(base, ARGV[5], lim, nowMs, p, 0)
return state
`;
