import { COMMON_LUA } from './common-lua.js';

/**
 * Settlement: ONE round trip per request, off the client's critical path (SPEC §5). Semantics:
 * src/limits/semantics.ts. Registered with defineCommand by src/limits/redis-limiter.ts.
 */
export const SETTLE_LUA = `
-- xai-gateway limiter: SETTLE (replace a reservation by the real usage, exactly once).
--
-- KEYS[1]  <base>res     HASH requestId -> reservation record
-- KEYS[2]  <base>resexp  ZSET requestId -> lease expiry ms
-- KEYS[3]  <base>reaped  ZSET requestId -> reaped-at ms
-- ARGV[1]  base: '<prefix>v1:{<familyId>}:'
-- ARGV[2]  requestId
-- ARGV[3]  1 = usage given (sent upstream), 0 = release only (never sent: record nothing)
-- ARGV[4]  actual total tokens       ARGV[5]  actual cost in ticks      (0 when ARGV[3] = 0)
-- ARGV[6]  UTC day id of the settlement 'YYYY-MM-DD'   ARGV[7] its day number (days since 1970-01-01)
-- ARGV[8]  TTL ms of usage-by-day records              ARGV[9] retention in days of the days index
-- ARGV[10..] pairs: usage field '<model>|<metric>', increment (requests 1 and the usage numbers)
-- Returns: 1 when this call settled the reservation, 0 when there was nothing to settle (already settled,
--          unknown, or reaped longer than the retention ago).
--
-- Semantics: a pending reservation's counters (its admission day/month, lifetime, its tokensPerMinute
-- bucket) get actual - reserved, and its concurrency slots are freed. A reaped one (lease expired, already
-- reverted) gets actual added, nothing subtracted. Counters that expired meanwhile are not recreated.
-- With usage, each of the reservation's keys records the usage under the settlement's UTC day.
` + COMMON_LUA + `
local base, requestId = ARGV[1], ARGV[2]
local hasUsage = ARGV[3] == '1'
local actualTok, actualCost = tonumber(ARGV[4]), tonumber(ARGV[5])
local settleDay, settleDayNumber = ARGV[6], tonumber(ARGV[7])
local usageTtlMs, retentionDays = ARGV[8], tonumber(ARGV[9])

local raw = redis.call('HGET', KEYS[1], requestId)
if not raw then return 0 end
local rec = parseRecord(raw)
redis.call('HDEL', KEYS[1], requestId)
redis.call('ZREM', KEYS[2], requestId)
redis.call('ZREM', KEYS[3], requestId)
if not hasUsage then actualTok, actualCost = 0, 0 end

for _, keyId in ipairs(rec.keyIds) do
  if rec.status == 'p' then
    adjustCounters(base, keyId, rec, actualTok - rec.tokens, actualCost - rec.costTicks)
    redis.call('ZREM', keyOf(base, keyId, 'conc'), requestId)
  else
    adjustCounters(base, keyId, rec, actualTok, actualCost)
  end
  if hasUsage then
    local usage = keyOf(base, keyId, 'u:' .. settleDay)
    for i = 10, #ARGV, 2 do redis.call('HINCRBY', usage, ARGV[i], ARGV[i + 1]) end
    redis.call('PEXPIRE', usage, usageTtlMs)
    local days = keyOf(base, keyId, 'udays')
    redis.call('ZADD', days, fmt(settleDayNumber), settleDay)
    redis.call('ZREMRANGEBYSCORE', days, '-inf', fmt(settleDayNumber - retentionDays))
    redis.call('PEXPIRE', days, usageTtlMs)
  end
end
return 1
`;
