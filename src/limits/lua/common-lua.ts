import { ENFORCED_LIMITS } from '../enforced-limits.js';
import { DEMAND_KIND, SUBJECT_STATE_FIELDS, USED_FIELD } from '../evaluate-admission.js';
import { REAP_BATCH, REAPED_RETENTION_MS, TPM_BUCKET_MS, TPM_WINDOW_BUCKETS, WINDOW_MS } from '../semantics.js';

/**
 * Lua shared by the limiter scripts (prepended to each; Redis 7 Lua 5.1). Constants and the limit tables are
 * generated from the TypeScript definitions so the two cannot drift: limit i of a subject is
 * ENFORCED_LIMITS[i] (cost limits already in ticks, -1 = none), state field j is SUBJECT_STATE_FIELDS[j].
 *
 * Key names mirror src/limits/redis-keys.ts: `base .. keyId .. ':' .. part`. The scripts derive names from
 * ARGV base (`${prefix}v1:{familyId}:`) instead of listing all of them in KEYS because a reaped or settled
 * reservation names period keys (its own day/month) not known to the caller; every name carries the same
 * {familyId} hash tag as KEYS[1], so all live in KEYS[1]'s Cluster slot. Redis and Redis Cluster allow this
 * for scripts without a shebang; proxies that insist on every key being in KEYS are not supported.
 *
 * Numbers: Redis Lua numbers are doubles, exact up to 2^53 (≈ 900 000 USD in ticks per counter). Integers
 * are formatted with %.0f before being sent to Redis, never with tostring (which may print 1e+15).
 */

const stateIndex = (field: (typeof SUBJECT_STATE_FIELDS)[number]): number => SUBJECT_STATE_FIELDS.indexOf(field) + 1;
const DEMAND_CODE = { request: 0, tokens: 1, cost: 2 } as const;

export const COMMON_LUA = `
local WINDOW_MS = ${WINDOW_MS}
local TPM_BUCKET_MS = ${TPM_BUCKET_MS}
local TPM_WINDOW_BUCKETS = ${TPM_WINDOW_BUCKETS}
local REAP_BATCH = ${REAP_BATCH}
local REAPED_RETENTION_MS = ${REAPED_RETENTION_MS}
local N_LIMITS = ${ENFORCED_LIMITS.length}
local N_STATE = ${SUBJECT_STATE_FIELDS.length}
local L_RPM = ${ENFORCED_LIMITS.indexOf('requestsPerMinute') + 1}
local L_TPM = ${ENFORCED_LIMITS.indexOf('tokensPerMinute') + 1}
-- state vector index of the counter each limit compares, and what a request adds (0 one, 1 tokens, 2 cost)
local USED_FIELD = { ${ENFORCED_LIMITS.map((limit) => stateIndex(USED_FIELD[limit])).join(', ')} }
local DEMAND = { ${ENFORCED_LIMITS.map((limit) => DEMAND_CODE[DEMAND_KIND[limit]]).join(', ')} }

local function fmt(n) return string.format('%.0f', n) end

local function num(v)
  if not v then return 0 end
  return tonumber(v) or 0
end

local function keyOf(base, keyId, part) return base .. keyId .. ':' .. part end

-- Reservation record: status|admittedAtMs|tokens|costTicks|dayId|monthId|keyId...  (status p pending, r reaped)
local function parseRecord(raw)
  local f = {}
  for part in string.gmatch(raw, '[^|]+') do f[#f + 1] = part end
  local rec = { status = f[1], admittedAtMs = tonumber(f[2]), tokens = tonumber(f[3]), costTicks = tonumber(f[4]),
    day = f[5], month = f[6], keyIds = {} }
  for i = 7, #f do rec.keyIds[#rec.keyIds + 1] = f[i] end
  return rec
end

local function encodeRecord(rec)
  return table.concat({ rec.status, fmt(rec.admittedAtMs), fmt(rec.tokens), fmt(rec.costTicks), rec.day, rec.month,
    table.concat(rec.keyIds, '|') }, '|')
end

-- Adds dTok/dCost to one key's counters of the reservation's own day and month, its lifetime totals and its
-- tokensPerMinute bucket, only where they still exist: an expired period or a trimmed bucket is never recreated.
local function adjustCounters(base, keyId, rec, dTok, dCost)
  if dTok == 0 and dCost == 0 then return end
  local parts = { 'd:' .. rec.day, 'm:' .. rec.month, 'total' }
  for _, part in ipairs(parts) do
    local key = keyOf(base, keyId, part)
    if redis.call('EXISTS', key) == 1 then
      if dTok ~= 0 then redis.call('HINCRBY', key, 'tok', fmt(dTok)) end
      if dCost ~= 0 then redis.call('HINCRBY', key, 'cost', fmt(dCost)) end
    end
  end
  if dTok ~= 0 then
    local tpm = keyOf(base, keyId, 'tpm')
    local second = fmt(math.floor(rec.admittedAtMs / TPM_BUCKET_MS))
    if redis.call('HEXISTS', tpm, second) == 1 then redis.call('HINCRBY', tpm, second, fmt(dTok)) end
  end
end

-- Reverts at most REAP_BATCH reservations whose lease expired (expiry <= nowMs): counters -= reserved, slots
-- freed, record kept as reaped (so a late settle records real usage once); drops reaped marks past retention.
local function reap(base, resKey, expKey, reapedKey, nowMs)
  local expired = redis.call('ZRANGEBYSCORE', expKey, '-inf', fmt(nowMs), 'LIMIT', 0, REAP_BATCH)
  for _, requestId in ipairs(expired) do
    local raw = redis.call('HGET', resKey, requestId)
    if raw then
      local rec = parseRecord(raw)
      if rec.status == 'p' then
        for _, keyId in ipairs(rec.keyIds) do
          adjustCounters(base, keyId, rec, -rec.tokens, -rec.costTicks)
          redis.call('ZREM', keyOf(base, keyId, 'conc'), requestId)
        end
        rec.status = 'r'
        redis.call('HSET', resKey, requestId, encodeRecord(rec))
        redis.call('ZADD', reapedKey, fmt(nowMs), requestId)
      end
    end
    redis.call('ZREM', expKey, requestId)
  end
  local stale = redis.call('ZRANGEBYSCORE', reapedKey, '-inf', fmt(nowMs - REAPED_RETENTION_MS), 'LIMIT', 0, REAP_BATCH)
  for _, requestId in ipairs(stale) do
    redis.call('HDEL', resKey, requestId)
    redis.call('ZREM', reapedKey, requestId)
  end
end

-- One subject's state vector (SUBJECT_STATE_FIELDS order, -1 = null) before this request, trimming what left
-- the windows. lim: N_LIMITS numbers (-1 = none). Mirrors window-math.ts (rpmReleaseMs, tpmReleaseSecond).
local function readState(base, keyId, lim, nowMs, dayId, monthId, estTokens)
  local rpmCount, rpmOldest, rpmRelease = 0, -1, -1
  if lim[L_RPM] >= 0 then
    local key = keyOf(base, keyId, 'rpm')
    redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(nowMs - WINDOW_MS))
    rpmCount = redis.call('ZCARD', key)
    if rpmCount > 0 then
      rpmOldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
      local mustLeave = rpmCount + 1 - lim[L_RPM]
      if lim[L_RPM] > 0 and mustLeave > 0 then
        rpmRelease = tonumber(redis.call('ZRANGE', key, mustLeave - 1, mustLeave - 1, 'WITHSCORES')[2])
      end
    end
  end
  local tpmTokens, tpmOldest, tpmRelease = 0, -1, -1
  if lim[L_TPM] >= 0 then
    local key = keyOf(base, keyId, 'tpm')
    local startSecond = math.floor(nowMs / TPM_BUCKET_MS) - (TPM_WINDOW_BUCKETS - 1)
    local flat = redis.call('HGETALL', key)
    local buckets = {}
    for i = 1, #flat, 2 do
      local second = tonumber(flat[i])
      if second < startSecond then
        redis.call('HDEL', key, flat[i])
      else
        buckets[#buckets + 1] = { second, tonumber(flat[i + 1]) }
        tpmTokens = tpmTokens + tonumber(flat[i + 1])
      end
    end
    table.sort(buckets, function(a, b) return a[1] < b[1] end)
    for _, b in ipairs(buckets) do
      if b[2] > 0 then tpmOldest = b[1]; break end
    end
    local need = tpmTokens + estTokens - lim[L_TPM]
    if need > 0 then
      local freed = 0
      for _, b in ipairs(buckets) do
        freed = freed + b[2]
        if freed >= need then tpmRelease = b[1]; break end
      end
    end
  end
  local conc = keyOf(base, keyId, 'conc')
  redis.call('ZREMRANGEBYSCORE', conc, '-inf', fmt(nowMs))
  local concurrent = redis.call('ZCARD', conc)
  local d = redis.call('HMGET', keyOf(base, keyId, 'd:' .. dayId), 'req', 'tok', 'cost')
  local m = redis.call('HMGET', keyOf(base, keyId, 'm:' .. monthId), 'tok', 'cost')
  local t = redis.call('HMGET', keyOf(base, keyId, 'total'), 'tok', 'cost')
  return { rpmCount, rpmOldest, rpmRelease, tpmTokens, tpmOldest, tpmRelease, concurrent,
    num(d[1]), num(d[2]), num(d[3]), num(m[1]), num(m[2]), num(t[1]), num(t[2]) }
end
`;
