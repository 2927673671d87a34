import { USAGE_RETENTION_DAYS } from '../semantics.js';
import { USAGE_METRICS } from '../usage-totals.js';

const USAGE_FORMAT = `<${'d'.repeat(USAGE_METRICS.length)}`;
const ADD_USAGE = USAGE_METRICS.map((_, i) => `o[${i + 1}] + u[${i + 1}]`).join(', ');
const MS_PER_DAY = 86_400_000;

/**
 * Settlement of one reservation (docs/api.md), off the client's critical path. Semantics: src/limits/semantics.ts.
 * SETTLE_BODY is the body of a Lua function whose parameter is named ARGV: batch-script.ts runs it once per
 * settlement of a batch, with that settlement's arguments as below.
 */
export const SETTLE_DOC = `
-- SETTLE one reservation (replace it by the real usage, exactly once).
--
-- KEYS[1]  <base>res     HASH requestId -> reservation record
-- KEYS[2]  <base>resexp  ZSET reservation record -> when it is due (lease expiry / end of a reaped mark's
--                        retention)
-- ARGV[1]  base: '<prefix>v2:{<familyId>}:'
-- ARGV[2]  requestId
-- ARGV[3]  <ddd packed: nowMs, actual total tokens, actual cost in ticks (both 0 for a release)
-- ARGV[4]  the usage as ${USAGE_METRICS.length} packed doubles in USAGE_METRICS order (${USAGE_METRICS.map(([, code]) => code).join(', ')}; requests
--          is 1), or '' for a release (never sent upstream: record nothing)
-- ARGV[5]  model name as recorded
-- ARGV[6]  UTC day id of the settlement 'YYYY-MM-DD'   ARGV[7] UTC month id 'YYYY-MM'
-- ARGV[8]  the day's number (days since 1970-01-01) as a decimal string
-- ARGV[9]  the number of the oldest day the days index keeps as a decimal string (older days are pruned)
-- ARGV[10] '' — or, for leased capacity given back unused (a release only), one '1'/'0' per key of the record:
--          whether admission counted the request in that key's requestsPerMinute window; then the request
--          also leaves that window's bucket and its day's request count
-- Returns: 1 when this call settled the reservation, 0 when there was nothing to settle (already settled,
--          unknown, or reaped more than REAPED_RETENTION_MS ago).
--
-- Semantics: a pending reservation's counters (its admission day/month, lifetime, its tokensPerMinute
-- bucket) get actual - reserved, and it stops counting as in flight. A charged mark (lease expired: charged
-- as reserved, no longer in flight) gets actual - reserved too. Counters of an ended period are not recreated.
-- With usage, each of the reservation's keys records the usage under the settlement's UTC day: the hash
-- u:<day> holds one field per model whose value packs its totals (one HGET + one HSET); the record's TTL
-- (${USAGE_RETENTION_DAYS} days) and the days index are maintained on a key's first usage of a day (counters field 'ud').
`;

export const SETTLE_BODY = `
local USAGE_TTL_MS = '${USAGE_RETENTION_DAYS * MS_PER_DAY}'
local base, requestId = ARGV[1], ARGV[2]
local nowMs, actualTok, actualCost = struct.unpack('<ddd', ARGV[3])
local hasUsage = ARGV[4] ~= ''
local model, settleDay = ARGV[5], ARGV[6]
local p = periodFields(settleDay, ARGV[7])

local raw = redis.call('HGET', KEYS[1], requestId)
if not raw then return 0 end
local rec = parseRecord(raw)
if not rec then return 0 end
rec.requestId = requestId
redis.call('HDEL', KEYS[1], requestId)
redis.call('ZREM', KEYS[2], raw)
if rec.status ~= 'p' and rec.reapedAtMs <= nowMs - REAPED_RETENTION_MS then return 0 end
-- pending, or charged as reserved when its lease ran out ('c'): the usage replaces the reservation
local dTok, dCost = actualTok - rec.tokens, actualCost - rec.costTicks
local rpmMask = ARGV[10] or ''
local dReq = 0
if rpmMask ~= '' and not hasUsage then dReq = -1 end
local second = math.floor(rec.admittedAtMs / TPM_BUCKET_MS)
local inWindow = second > math.floor(nowMs / TPM_BUCKET_MS) - TPM_WINDOW_BUCKETS

local u
if hasUsage then u = { struct.unpack('${USAGE_FORMAT}', ARGV[4]) } end

local function recordUsage(keyId, firstOfDay)
  local key = keyOf(base, keyId, 'u:' .. settleDay)
  local old = redis.call('HGET', key, model)
  local value = ARGV[4]
  if old and #old == ${USAGE_METRICS.length * 8} then
    local o = { struct.unpack('${USAGE_FORMAT}', old) }
    value = struct.pack('${USAGE_FORMAT}', ${ADD_USAGE})
  end
  redis.call('HSET', key, model, value)
  if not firstOfDay then return end
  redis.call('PEXPIRE', key, USAGE_TTL_MS)
  local days = keyOf(base, keyId, 'udays')
  redis.call('ZADD', days, ARGV[8], settleDay)
  redis.call('ZREMRANGEBYSCORE', days, '-inf', '(' .. ARGV[9])
  redis.call('PEXPIRE', days, USAGE_TTL_MS)
end

for index, keyId in ipairs(rec.keyIds) do
  local lastUsageDay = adjustKey(base, keyId, rec, index, dTok, dCost, dReq, nowMs, p, rec.status == 'p', hasUsage and settleDay)
  if dReq ~= 0 and inWindow and string.sub(rpmMask, index, index) == '1' then
    tpmAdjust(keyOf(base, keyId, 'rpmw'), second, fmt(second), -1)
  end
  if hasUsage then recordUsage(keyId, lastUsageDay ~= settleDay) end
end
return 1
`;
