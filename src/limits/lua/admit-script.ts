import { COMMON_LUA } from './common-lua.js';
import { READ_STATE_LUA } from './read-state-lua.js';

/**
 * Admission: ONE atomic round trip per request (SPEC §5). Semantics: src/limits/semantics.ts (quoted in short
 * in the script header). Registered with defineCommand by src/limits/redis-limiter.ts.
 */
export const ADMIT_LUA = `
-- xai-gateway limiter: ADMIT (atomic check-and-reserve of every limit of every subject).
--
-- KEYS[1]  <base>res     HASH requestId -> reservation record (pending 'p' / reaped 'r')
-- KEYS[2]  <base>resexp  ZSET requestId -> when it is due: lease expiry ms of a pending reservation,
--                        reaped-at + REAPED_RETENTION_MS of a reaped mark
-- ARGV[1]  base: '<prefix>v1:{<familyId>}:' (every key derived from it shares KEYS[1]'s hash tag / slot)
-- ARGV[2]  requestId (must not have a record already: error XGW_DUPLICATE_REQUEST_ID)
-- ARGV[3]  nowMs (time comes from the caller, never TIME)
-- ARGV[4]  leaseMs: reservation and concurrency slot expire at nowMs + leaseMs
-- ARGV[5]  estimated tokens          ARGV[6]  estimated cost in ticks (1 USD = 1e10)
-- ARGV[7]  UTC day id 'YYYY-MM-DD'   ARGV[8]  UTC month id 'YYYY-MM'
-- ARGV[9]  the reservation record to store (format in COMMON_LUA, built by src/limits/redis-record.ts)
-- ARGV[10] n subjects (the key, then its parent for a child key); then per subject:
--          keyId, k (how many limits it has), then k pairs: limit index (1-based, ENFORCED_LIMITS order),
--          limit (integer; cost limits in ticks)
-- Returns: { admitted (1|0), then for each subject with k > 0 its N_STATE state numbers
--          (SUBJECT_STATE_FIELDS order, -1 = null) as they were BEFORE this request } — the caller derives
--          limit, Retry-After and rate (a subject without limits has nothing to derive them from).
--
-- Semantics: first reap <= REAP_BATCH due reservations / reaped marks. Then a subject's limit L has room iff
-- used + demand <= L, where used is its counter (reservations included) and demand is 1 for
-- requestsPerMinute/requestsPerDay/concurrency, the token estimate for token limits, the cost estimate for
-- cost limits. requestsPerMinute: exact log, entries with ts > now - 60000. tokensPerMinute: buckets of the
-- current second and the 60 before it. concurrency: slots whose expiry > now. Admitted iff every limit of
-- every subject has room; then for each subject: log entry (if rpm limited), bucket (if tpm limited), slot,
-- day req+1/tok/cost, month tok/cost, lifetime tok/cost; and the reservation's expiry.
--
-- Cost: the record is written first with HSETNX (that is the duplicate check; deleted again on refusal);
-- per subject one HMGET + one HSET of its counters hash and a ZADD of its slot, plus what its per-minute and
-- concurrency limits need; one ZRANGEBYSCORE finds due reservations and one ZADD stores the expiry.
` + COMMON_LUA + READ_STATE_LUA + `
local base, requestId = ARGV[1], ARGV[2]
local nowMs, leaseMs = tonumber(ARGV[3]), tonumber(ARGV[4])
local estTokens, estCost = tonumber(ARGV[5]), tonumber(ARGV[6])
local p = periodFields(ARGV[7], ARGV[8])

if redis.call('HSETNX', KEYS[1], requestId, ARGV[9]) == 0 then return redis.error_reply('XGW_DUPLICATE_REQUEST_ID') end
reap(base, KEYS[1], KEYS[2], nowMs, p)

local subjects, reply, admitted = {}, { 1 }, true
local at = 11
for i = 1, tonumber(ARGV[10]) do
  local keyId, k = ARGV[at], tonumber(ARGV[at + 1])
  local lim = {}
  for j = at + 2, at + 2 * k, 2 do lim[tonumber(ARGV[j])] = tonumber(ARGV[j + 1]) end
  at = at + 2 + 2 * k
  local state, ctx = readState(base, keyId, lim, nowMs, p, estTokens)
  if k > 0 then
    for j, limit in pairs(lim) do
      local demand = 1
      if DEMAND[j] == 1 then demand = estTokens elseif DEMAND[j] == 2 then demand = estCost end
      if state[USED_FIELD[j]] + demand > limit then admitted = false end
    end
    for j = 1, N_STATE do reply[#reply + 1] = state[j] end
  end
  subjects[i] = { keyId = keyId, lim = lim, ctx = ctx }
end
if not admitted then
  redis.call('HDEL', KEYS[1], requestId)
  reply[1] = 0
  return reply
end

local expiresAtMs = nowMs + leaseMs
for _, s in ipairs(subjects) do
  local v = s.ctx.v
  local a = { 'HSET', s.ctx.ckey }
  local dayOk, monthOk = true, true
  if not v[1] then dayOk, monthOk = rollover(s.ctx.ckey, p, a) end
  if dayOk then
    a[#a + 1] = p.r; a[#a + 1] = num(v[1]) + 1
    a[#a + 1] = p.t; a[#a + 1] = num(v[2]) + estTokens
    a[#a + 1] = p.c; a[#a + 1] = num(v[3]) + estCost
  end
  if monthOk then
    a[#a + 1] = p.mt; a[#a + 1] = num(v[4]) + estTokens
    a[#a + 1] = p.mc; a[#a + 1] = num(v[5]) + estCost
  end
  a[#a + 1] = 'tt'; a[#a + 1] = num(v[6]) + estTokens
  a[#a + 1] = 'tc'; a[#a + 1] = num(v[7]) + estCost
  if s.lim[L_RPM] then
    local key = keyOf(base, s.keyId, 'rpm')
    if num(v[8]) <= nowMs - RPM_TRIM_INTERVAL_MS then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', nowMs - WINDOW_MS)
      redis.call('ZADD', key, nowMs, requestId)
      redis.call('PEXPIRE', key, RPM_TTL_MS)
      a[#a + 1] = 'rs'; a[#a + 1] = nowMs
    else
      redis.call('ZADD', key, nowMs, requestId)
    end
  end
  redis.call(unpack(a))
  if s.lim[L_TPM] then tpmAdd(keyOf(base, s.keyId, 'tpm'), s.ctx.tpm, estTokens) end
  redis.call('ZADD', keyOf(base, s.keyId, 'conc'), expiresAtMs, requestId)
end
redis.call('ZADD', KEYS[2], expiresAtMs, requestId)
return reply
`;
