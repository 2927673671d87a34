import { COMMON_LUA } from './common-lua.js';
import { ADMISSION_LUA } from './admission-lua.js';

/** Reads one subject's state for Limiter.remaining() (GET /v1/api-key), in one round trip. */
export const PROBE_LUA = `
-- xai-gateway limiter: PROBE (one subject's counters now; reaps and trims like an admission, reserves nothing).
--
-- KEYS[1]  <base>res   KEYS[2] <base>resexp   (as in ADMIT)
-- ARGV[1]  base: '<prefix>v2:{<familyId>}:'
-- ARGV[2]  <d packed: nowMs        ARGV[3] nowMs as a decimal string
-- ARGV[4]  unused ('')                  ARGV[5] floor(nowMs / TPM_BUCKET_MS) as a decimal string (as in ADMIT)
-- ARGV[6]  UTC day id 'YYYY-MM-DD'      ARGV[7] UTC month id 'YYYY-MM'
-- ARGV[8]  keyId      ARGV[9] its limits packed as in ADMIT (never '')
-- Returns: the subject's N_STATE state values (SUBJECT_STATE_FIELDS order, -1 = null; as in ADMIT), estimate 0.
` + COMMON_LUA + ADMISSION_LUA + `
local base = ARGV[1]
local nowMs = struct.unpack('<d', ARGV[2])
local p = periodFields(ARGV[6], ARGV[7])
reap(base, KEYS[1], KEYS[2], nowMs, ARGV[3], p)
local lim = { struct.unpack(LIMITS_FORMAT, ARGV[9]) }
local state = readState(base, ARGV[8], lim, nowMs, p, { sec = ARGV[5] }, 0)
return state
`;
