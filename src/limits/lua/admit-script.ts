import { COMMON_LUA } from './common-lua.js';

/**
 * Admission: ONE atomic round trip per request (SPEC §5). Semantics: src/limits/semantics.ts (quoted in short
 * in the script header). Registered with defineCommand by src/limits/redis-limiter.ts.
 */
export const ADMIT_LUA = `
-- xai-gateway limiter: ADMIT (atomic check-and-reserve of every limit of every subject).
--
-- KEYS[1]  <base>res     HASH requestId -> reservation record (pending 'p' / reaped 'r')
-- KEYS[2]  <base>resexp  ZSET requestId -> lease expiry ms of pending reservations
-- KEYS[3]  <base>reaped  ZSET requestId -> reaped-at ms
-- ARGV[1]  base: '<prefix>v1:{<familyId>}:' (every key derived from it shares KEYS[1]'s hash tag / slot)
-- ARGV[2]  requestId (must not be pending already: error XGW_DUPLICATE_REQUEST_ID)
-- ARGV[3]  nowMs (time comes from the caller, never TIME)
-- ARGV[4]  leaseMs: reservation and concurrency slot expire at nowMs + leaseMs
-- ARGV[5]  estimated tokens          ARGV[6]  estimated cost in ticks (1 USD = 1e10)
-- ARGV[7]  UTC day id 'YYYY-MM-DD'   ARGV[8]  UTC month id 'YYYY-MM'
-- ARGV[9]  TTL ms of the day counters ARGV[10] TTL ms of the month counters (period end - now + grace)
-- ARGV[11] n subjects (the key, then its parent for a child key)
-- ARGV[12 + (i-1)*(1+N_LIMITS)]  subject i keyId, followed by its N_LIMITS limits in ENFORCED_LIMITS order
--          (integers; cost limits in ticks; -1 = no such limit)
-- Returns: { admitted (1|0), then for each subject its N_STATE state numbers (SUBJECT_STATE_FIELDS order,
--          -1 = null) as they were BEFORE this request } — the caller derives limit, Retry-After and rate.
--
-- Semantics: first reap <= REAP_BATCH expired reservations. Then a subject's limit L has room iff
-- used + demand <= L, where used is its counter (reservations included) and demand is 1 for
-- requestsPerMinute/requestsPerDay/concurrency, the token estimate for token limits, the cost estimate for
-- cost limits. requestsPerMinute: exact log, entries with ts > now - 60000. tokensPerMinute: buckets of the
-- current second and the 60 before it. concurrency: slots whose expiry > now. Admitted iff every limit of
-- every subject has room; then for each subject: log entry (if rpm limited), bucket (if tpm limited), slot,
-- day req+1/tok/cost, month tok/cost, lifetime tok/cost; and the reservation record with its expiry.
` + COMMON_LUA + `
local base, requestId = ARGV[1], ARGV[2]
local nowMs, leaseMs = tonumber(ARGV[3]), tonumber(ARGV[4])
local estTokens, estCost = tonumber(ARGV[5]), tonumber(ARGV[6])
local dayId, monthId = ARGV[7], ARGV[8]
local dayTtlMs, monthTtlMs = ARGV[9], ARGV[10]
local nSubjects = tonumber(ARGV[11])

if redis.call('HEXISTS', KEYS[1], requestId) == 1 then return redis.error_reply('XGW_DUPLICATE_REQUEST_ID') end
reap(base, KEYS[1], KEYS[2], KEYS[3], nowMs)

local subjects, reply, admitted = {}, { 1 }, true
for i = 1, nSubjects do
  local at = 12 + (i - 1) * (1 + N_LIMITS)
  local lim = {}
  for j = 1, N_LIMITS do lim[j] = tonumber(ARGV[at + j]) end
  local state = readState(base, ARGV[at], lim, nowMs, dayId, monthId, estTokens)
  for j = 1, N_LIMITS do
    if lim[j] >= 0 then
      local demand = 1
      if DEMAND[j] == 1 then demand = estTokens elseif DEMAND[j] == 2 then demand = estCost end
      if state[USED_FIELD[j]] + demand > lim[j] then admitted = false end
    end
  end
  subjects[i] = { keyId = ARGV[at], lim = lim }
  for j = 1, N_STATE do reply[#reply + 1] = state[j] end
end
if not admitted then
  reply[1] = 0
  return reply
end

local expiresAtMs = nowMs + leaseMs
local second = fmt(math.floor(nowMs / TPM_BUCKET_MS))
local keyIds = {}
for i, s in ipairs(subjects) do
  keyIds[i] = s.keyId
  if s.lim[L_RPM] >= 0 then
    local key = keyOf(base, s.keyId, 'rpm')
    redis.call('ZADD', key, fmt(nowMs), requestId)
    redis.call('PEXPIRE', key, WINDOW_MS + 1000)
  end
  if s.lim[L_TPM] >= 0 then
    -- the bucket is created even for a zero estimate, so settlement can add the real tokens to it
    local key = keyOf(base, s.keyId, 'tpm')
    redis.call('HINCRBY', key, second, fmt(estTokens))
    redis.call('PEXPIRE', key, TPM_WINDOW_BUCKETS * TPM_BUCKET_MS + 1000)
  end
  local conc = keyOf(base, s.keyId, 'conc')
  redis.call('ZADD', conc, fmt(expiresAtMs), requestId)
  if redis.call('PTTL', conc) < leaseMs + 1000 then redis.call('PEXPIRE', conc, fmt(leaseMs + 1000)) end
  local day = keyOf(base, s.keyId, 'd:' .. dayId)
  redis.call('HINCRBY', day, 'req', 1)
  redis.call('HINCRBY', day, 'tok', fmt(estTokens))
  redis.call('HINCRBY', day, 'cost', fmt(estCost))
  redis.call('PEXPIRE', day, dayTtlMs)
  local month = keyOf(base, s.keyId, 'm:' .. monthId)
  redis.call('HINCRBY', month, 'tok', fmt(estTokens))
  redis.call('HINCRBY', month, 'cost', fmt(estCost))
  redis.call('PEXPIRE', month, monthTtlMs)
  local total = keyOf(base, s.keyId, 'total')
  redis.call('HINCRBY', total, 'tok', fmt(estTokens))
  redis.call('HINCRBY', total, 'cost', fmt(estCost))
end
redis.call('HSET', KEYS[1], requestId, encodeRecord({ status = 'p', admittedAtMs = nowMs, tokens = estTokens,
  costTicks = estCost, day = dayId, month = monthId, keyIds = keyIds }))
redis.call('ZADD', KEYS[2], fmt(expiresAtMs), requestId)
return reply
`;
