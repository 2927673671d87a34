import { USAGE_METRICS } from '../usage-totals.js';
import { COMMON_LUA } from './common-lua.js';

const N_METRICS = USAGE_METRICS.length;
const PACKED_PATTERN = `^${Array.from({ length: N_METRICS }, () => '(-?%d+)').join(',')}$`;
const PACKED_FORMAT = Array.from({ length: N_METRICS }, () => '%d').join(',');
const CAPTURES = Array.from({ length: N_METRICS }, (_, i) => `u${i + 1}`);

/**
 * Settlement: ONE round trip per request, off the client's critical path (SPEC §5). Semantics:
 * src/limits/semantics.ts. Registered with defineCommand by src/limits/redis-limiter.ts.
 */
export const SETTLE_LUA = `
-- xai-gateway limiter: SETTLE (replace a reservation by the real usage, exactly once).
--
-- KEYS[1]  <base>res     HASH requestId -> reservation record
-- KEYS[2]  <base>resexp  ZSET requestId -> when it is due (lease expiry / end of a reaped mark's retention)
-- ARGV[1]  base: '<prefix>v1:{<familyId>}:'
-- ARGV[2]  requestId
-- ARGV[3]  1 = usage given (sent upstream), 0 = release only (never sent: record nothing)
-- ARGV[4]  actual total tokens       ARGV[5]  actual cost in ticks      (0 when ARGV[3] = 0)
-- ARGV[6]  nowMs
-- ARGV[7]  UTC day id of the settlement 'YYYY-MM-DD'   ARGV[8] its day number (days since 1970-01-01)
-- ARGV[9]  UTC month id of the settlement 'YYYY-MM'
-- ARGV[10] TTL ms of usage-by-day records              ARGV[11] retention in days of the days index
-- ARGV[12] model name as recorded
-- ARGV[13..${12 + N_METRICS}] the usage in USAGE_METRICS order (${USAGE_METRICS.map(([, code]) => code).join(', ')}; requests is 1), when ARGV[3] = 1
-- Returns: 1 when this call settled the reservation, 0 when there was nothing to settle (already settled,
--          unknown, or reaped more than REAPED_RETENTION_MS ago).
--
-- Semantics: a pending reservation's counters (its admission day/month, lifetime, its tokensPerMinute
-- bucket) get actual - reserved, and its concurrency slots are freed. A reaped one (lease expired, already
-- reverted) gets actual added, nothing subtracted. Counters of an ended period are not recreated.
-- With usage, each of the reservation's keys records the usage under the settlement's UTC day: the hash
-- u:<day> holds one field per model whose value packs its totals '${PACKED_FORMAT}' (one HGET + one
-- HSET); the record's TTL and the days index are maintained on a key's first usage of a day only (its
-- counters field 'ud' names the newest such day).
` + COMMON_LUA + `
local base, requestId = ARGV[1], ARGV[2]
local hasUsage = ARGV[3] == '1'
local actualTok, actualCost = tonumber(ARGV[4]), tonumber(ARGV[5])
local nowMs = tonumber(ARGV[6])
local settleDay, settleDayNumber = ARGV[7], tonumber(ARGV[8])
local p = periodFields(settleDay, ARGV[9])
local usageTtlMs, retentionDays = ARGV[10], tonumber(ARGV[11])
local model = ARGV[12]

local raw = redis.call('HGET', KEYS[1], requestId)
if not raw then return 0 end
local rec = parseRecord(raw)
redis.call('HDEL', KEYS[1], requestId)
redis.call('ZREM', KEYS[2], requestId)
if rec.status ~= 'p' and rec.reapedAtMs <= nowMs - REAPED_RETENTION_MS then return 0 end
if not hasUsage then actualTok, actualCost = 0, 0 end
local dTok, dCost = actualTok, actualCost
if rec.status == 'p' then dTok, dCost = actualTok - rec.tokens, actualCost - rec.costTicks end

local function recordUsage(keyId, firstOfDay)
  local key = keyOf(base, keyId, 'u:' .. settleDay)
  local old = redis.call('HGET', key, model)
  local ${CAPTURES.join(', ')} = 0${', 0'.repeat(N_METRICS - 1)}
  if old then
    ${CAPTURES.join(', ')} = string.match(old, '${PACKED_PATTERN}')
  end
  redis.call('HSET', key, model, string.format('${PACKED_FORMAT}', ${CAPTURES.map((name, i) => `(tonumber(${name}) or 0) + ARGV[${13 + i}]`).join(', ')}))
  if not firstOfDay then return end
  redis.call('PEXPIRE', key, usageTtlMs)
  local days = keyOf(base, keyId, 'udays')
  redis.call('ZADD', days, settleDayNumber, settleDay)
  redis.call('ZREMRANGEBYSCORE', days, '-inf', settleDayNumber - retentionDays)
  redis.call('PEXPIRE', days, usageTtlMs)
end

for index, keyId in ipairs(rec.keyIds) do
  local usageDay = nil
  if hasUsage then usageDay = settleDay end
  local lastUsageDay = adjustKey(base, keyId, rec, index, dTok, dCost, nowMs, p, usageDay)
  if rec.status == 'p' then redis.call('ZREM', keyOf(base, keyId, 'conc'), requestId) end
  if hasUsage then recordUsage(keyId, lastUsageDay ~= settleDay) end
end
return 1
`;
