/**
 * Admission of one request, atomic (docs/api.md). Semantics: src/limits/semantics.ts (quoted in short in the doc
 * below). ADMIT_BODY is the body of a Lua function whose parameter is named ARGV (it shadows the script's
 * own): batch-script.ts runs it once per admission of a batch, with that admission's arguments as below.
 */
export const ADMIT_DOC = `
-- ADMIT one request (atomic check-and-reserve of every limit of every subject).
--
-- KEYS[1]  <base>res     HASH requestId -> reservation record (pending 'p' / charged 'c'; reaped 'r' by an
--                        earlier version)
-- KEYS[2]  <base>resexp  ZSET reservation record -> when it is due: lease expiry ms of a pending
--                        reservation, reaped-at + REAPED_RETENTION_MS of a reaped mark
-- ARGV[1]  base: '<prefix>v2:{<familyId>}:' (every key derived from it shares KEYS[1]'s hash tag / slot)
-- ARGV[2]  requestId (must not have a record already: error XGW_DUPLICATE_REQUEST_ID)
-- ARGV[3]  <ddd packed: nowMs, estimated tokens, estimated cost in ticks (1 USD = 1e10)
-- ARGV[4]  nowMs as a decimal string (time comes from the caller, never TIME)
-- ARGV[5]  nowMs + leaseMs as a decimal string: when the reservation (and its place in concurrency) expires
-- ARGV[6]  unused ('')
-- ARGV[7]  floor(nowMs / TPM_BUCKET_MS) as a decimal string: the current second's bucket (both windows)
-- ARGV[8]  UTC day id 'YYYY-MM-DD'   ARGV[9]  UTC month id 'YYYY-MM'
-- ARGV[10] the reservation record to store (format in COMMON_LUA; it ends with the requestId)
-- ARGV[11] n subjects (the key, then its parent for a child key); then per subject two entries: keyId, and
--          its limits packed as N_LIMITS little-endian doubles in ENFORCED_LIMITS order (integers, cost
--          limits in ticks, -1 = no such limit), or '' when it has none
-- Returns: { admitted (1|0), then for each subject with limits its N_STATE state values
--          (SUBJECT_STATE_FIELDS order, -1 = null) as they were
--          BEFORE this request } — the caller derives limit, Retry-After and rate (a subject without limits
--          has nothing to derive them from).
--
-- Semantics: first reap <= REAP_BATCH due reservations / reaped marks. Then a subject's limit L has room iff
-- used + demand <= L, where used is its counter (reservations included) and demand is 1 for
-- requestsPerMinute/requestsPerDay/concurrency, the token estimate for token limits, the cost estimate for
-- cost limits. requestsPerMinute and tokensPerMinute: buckets of the current second and the 60 before it.
-- concurrency: the subject's reservations in flight (neither settled nor reaped). Admitted iff every limit of
-- every subject has room; then for each subject: +1 in its requests bucket (if rpm limited), the estimate in
-- its tokens bucket (if tpm limited), in flight +1, day req+1/tok/cost, month tok/cost, lifetime tok/cost;
-- and the reservation's expiry.
--
-- Cost: the record is written first with HSETNX (that is the duplicate check; deleted again on refusal);
-- per subject one HMGET + one HSET of its counters hash (concurrency included), plus what its per-minute
-- limits need; one ZRANGEBYSCORE finds due reservations and one ZADD stores the expiry. Numbers travel
-- packed or as the caller's decimal strings: the script parses and formats none on the common path.
`;

export const ADMIT_BODY = `
local base, requestId = ARGV[1], ARGV[2]
local nowMs, estTokens, estCost = struct.unpack('<ddd', ARGV[3])
local now, expiresAt = ARGV[4], ARGV[5]
local t = { sec = ARGV[7] }
local p = periodFields(ARGV[8], ARGV[9])

if redis.call('HSETNX', KEYS[1], requestId, ARGV[10]) == 0 then return redis.error_reply('XGW_DUPLICATE_REQUEST_ID') end
reap(base, KEYS[1], KEYS[2], nowMs, now, p)

local subjects, reply, admitted = {}, { 1 }, true
for i = 1, tonumber(ARGV[11]) do
  local keyId, packed = ARGV[10 + 2 * i], ARGV[11 + 2 * i]
  local s = { keyId = keyId }
  if packed == '' then
    s.ckey = keyOf(base, keyId, 'ctr')
    s.v = readCounters(s.ckey, { p.d, p.m, 'l' })
    s.lim = nil
  else
    local lim = { struct.unpack(LIMITS_FORMAT, packed) }
    local state, ctx = readState(base, keyId, lim, nowMs, p, t, estTokens)
    for j = 1, #lim - 1 do
      local limit = lim[j]
      if limit >= 0 then
        local demand = 1
        if DEMAND[j] == 1 then demand = estTokens elseif DEMAND[j] == 2 then demand = estCost end
        if state[USED_FIELD[j]] + demand > limit then admitted = false end
      end
    end
    for j = 1, N_STATE do reply[#reply + 1] = state[j] end
    s.ckey, s.v, s.rpm, s.tpm, s.lim = ctx.ckey, ctx.v, ctx.rpm, ctx.tpm, lim
  end
  subjects[i] = s
end
if not admitted then
  redis.call('HDEL', KEYS[1], requestId)
  reply[1] = 0
  return reply
end

for _, s in ipairs(subjects) do
  local v, lim = s.v, s.lim
  local dr, dt, dc = day3(v[1])
  local mt, mc = month2(v[2])
  local lt, lc, n = life3(v[3])
  local a = { 'HSET', s.ckey, 'l', struct.pack('<ddd', lt + estTokens, lc + estCost, n + 1) }
  local dayOk, monthOk = true, true
  if not v[1] then dayOk, monthOk = rollover(s.ckey, p, a) end
  if dayOk then a[#a + 1] = p.d; a[#a + 1] = struct.pack('<ddd', dr + 1, dt + estTokens, dc + estCost) end
  if monthOk then a[#a + 1] = p.m; a[#a + 1] = struct.pack('<dd', mt + estTokens, mc + estCost) end
  redis.call(unpack(a))
  if lim and lim[L_RPM] >= 0 then tpmAdd(keyOf(base, s.keyId, 'rpmw'), s.rpm, 1) end
  if lim and lim[L_TPM] >= 0 then tpmAdd(keyOf(base, s.keyId, 'tpm'), s.tpm, estTokens) end
end
redis.call('ZADD', KEYS[2], expiresAt, ARGV[10])
return reply
`;
