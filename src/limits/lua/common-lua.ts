import { ENFORCED_LIMITS } from '../enforced-limits.js';
import { DEMAND_KIND, SUBJECT_STATE_FIELDS, USED_FIELD } from '../evaluate-admission.js';
import {
  REAP_BATCH,
  REAPED_RETENTION_MS,
  RPM_TRIM_INTERVAL_MS,
  TPM_BUCKET_MS,
  TPM_WINDOW_BUCKETS,
  WINDOW_MS,
} from '../semantics.js';
import { COUNTERS_LUA } from './counters-lua.js';
import { TPM_LUA } from './tpm-lua.js';

/**
 * Lua shared by the limiter scripts (prepended to each; Redis 7 Lua 5.1). Constants and the limit tables are
 * generated from the TypeScript definitions so the two cannot drift: limit i of a subject is
 * ENFORCED_LIMITS[i] (cost limits already in ticks), state field j is SUBJECT_STATE_FIELDS[j].
 *
 * Key names mirror src/limits/redis-keys.ts: `base .. keyId .. ':' .. part`. The scripts derive names from
 * ARGV base (`${prefix}v1:{familyId}:`) instead of listing all of them in KEYS because a reaped or settled
 * reservation names keys (its own keys' counters) not known to the caller; every name carries the same
 * {familyId} hash tag as KEYS[1], so all live in KEYS[1]'s Cluster slot. Redis and Redis Cluster allow this
 * for scripts without a shebang; proxies that insist on every key being in KEYS are not supported.
 *
 * Cost ("Redis cost per request" in semantics.ts): a command run from a script costs about 1 µs of Redis
 * CPU plus about 0.15–0.25 µs per argument and per reply element, and plain Lua work (a table, a
 * string.format, a tonumber) 0.05–0.3 µs. So the scripts run few commands, read exactly the fields they
 * need, pass numbers to redis.call as numbers (Redis formats them with %.17g: exact for integers below
 * 2^53) and leave string building to the caller where it can.
 *
 * Numbers: Redis Lua numbers are doubles, exact up to 2^53 (≈ 900 000 USD in ticks per counter; beyond that
 * a sum is off by a few ticks, 1e-10 USD each). Integers that go into strings are formatted with %.0f / %d,
 * never with tostring (which prints 1e+15).
 */

const stateIndex = (field: (typeof SUBJECT_STATE_FIELDS)[number]): number => SUBJECT_STATE_FIELDS.indexOf(field) + 1;
const DEMAND_CODE = { request: 0, tokens: 1, cost: 2 } as const;

export const COMMON_LUA = `
local WINDOW_MS = ${WINDOW_MS}
local TPM_BUCKET_MS = ${TPM_BUCKET_MS}
local TPM_WINDOW_BUCKETS = ${TPM_WINDOW_BUCKETS}
local REAP_BATCH = ${REAP_BATCH}
local REAPED_RETENTION_MS = ${REAPED_RETENTION_MS}
local RPM_TRIM_INTERVAL_MS = ${RPM_TRIM_INTERVAL_MS}
-- The rpm log is trimmed (and its TTL renewed) at most every RPM_TRIM_INTERVAL_MS: its TTL outlasts the
-- window of every entry added in between. The tpm hash's TTL is renewed whenever its window moves on.
local RPM_TTL_MS = WINDOW_MS + 2 * RPM_TRIM_INTERVAL_MS
local TPM_TTL_MS = (TPM_WINDOW_BUCKETS + 1) * TPM_BUCKET_MS
local N_STATE = ${SUBJECT_STATE_FIELDS.length}
local L_RPM = ${ENFORCED_LIMITS.indexOf('requestsPerMinute') + 1}
local L_TPM = ${ENFORCED_LIMITS.indexOf('tokensPerMinute') + 1}
local L_CONC = ${ENFORCED_LIMITS.indexOf('concurrency') + 1}
-- state vector index of the counter each limit compares, and what a request adds (0 one, 1 tokens, 2 cost)
local USED_FIELD = { ${ENFORCED_LIMITS.map((limit) => stateIndex(USED_FIELD[limit])).join(', ')} }
local DEMAND = { ${ENFORCED_LIMITS.map((limit) => DEMAND_CODE[DEMAND_KIND[limit]]).join(', ')} }

local function fmt(n) return string.format('%.0f', n) end

-- a reply value (false = nil bulk) as a number, 0 when absent
local function num(v)
  if not v then return 0 end
  return tonumber(v) or 0
end

local function keyOf(base, keyId, part) return base .. keyId .. ':' .. part end

-- Reservation record (HASH res, field requestId; admission's is built by the caller, redis-record.ts):
--   '2|status|admittedAtMs|tokens|costTicks|dayId|monthId|reapedAtMs|tpmMask|keyId|keyId...'
-- status p pending / r reaped; tpmMask one '1'/'0' per keyId: whether admission counted the request in that
-- key's tokensPerMinute window (only then does settlement correct its bucket). Records of the earlier
-- format ('status|admittedAtMs|tokens|costTicks|dayId|monthId|keyId...') are still read: mask '?' (the bucket
-- is corrected if it exists, as that format did), the admission time standing in for the reaped-at time.
local function parseRecord(raw)
  local f, n = {}, 0
  for part in string.gmatch(raw, '[^|]+') do n = n + 1; f[n] = part end
  local rec
  if f[1] == '2' then
    rec = { status = f[2], admittedAtMs = tonumber(f[3]), tokens = tonumber(f[4]), costTicks = tonumber(f[5]),
      day = f[6], month = f[7], reapedAtMs = tonumber(f[8]), tpmMask = f[9], keyIds = {} }
    for i = 10, n do rec.keyIds[#rec.keyIds + 1] = f[i] end
  else
    rec = { status = f[1], admittedAtMs = tonumber(f[2]), tokens = tonumber(f[3]), costTicks = tonumber(f[4]),
      day = f[5], month = f[6], keyIds = {} }
    for i = 7, n do rec.keyIds[#rec.keyIds + 1] = f[i] end
    rec.reapedAtMs = rec.admittedAtMs
    rec.tpmMask = string.rep('?', #rec.keyIds)
  end
  return rec
end

local function encodeRecord(rec)
  return table.concat({ '2', rec.status, fmt(rec.admittedAtMs), fmt(rec.tokens), fmt(rec.costTicks), rec.day,
    rec.month, fmt(rec.reapedAtMs), rec.tpmMask, table.concat(rec.keyIds, '|') }, '|')
end
` + COUNTERS_LUA + TPM_LUA + `
-- Corrects one key's counters by dTok/dCost for a reservation (settlement or reaping): its own day and month
-- (only while the counters hash still keeps those periods: an ended period is never recreated), lifetime
-- totals, and its tokensPerMinute bucket if admission counted it there and it is still in the window at
-- nowMs. p: the current periods (periodFields). usageDay: when given, also records it as the key's newest
-- day with usage ('ud'). Returns the key's 'ud' as it was.
local function adjustKey(base, keyId, rec, index, dTok, dCost, nowMs, p, usageDay)
  local ckey = keyOf(base, keyId, 'ctr')
  local dt, dc, mt, mc = 't:' .. rec.day, 'c:' .. rec.day, 't:' .. rec.month, 'c:' .. rec.month
  local v = readCounters(base, keyId, ckey, p, { 'r:' .. rec.day, dt, dc, mt, mc, 'tt', 'tc', 'ud' }, 6)
  local a = { 'HSET', ckey }
  if dTok ~= 0 or dCost ~= 0 then
    if v[1] then a[3] = dt; a[4] = num(v[2]) + dTok; a[5] = dc; a[6] = num(v[3]) + dCost end
    if v[4] then a[#a + 1] = mt; a[#a + 1] = num(v[4]) + dTok; a[#a + 1] = mc; a[#a + 1] = num(v[5]) + dCost end
    if v[6] then a[#a + 1] = 'tt'; a[#a + 1] = num(v[6]) + dTok; a[#a + 1] = 'tc'; a[#a + 1] = num(v[7]) + dCost end
  end
  if usageDay and (not v[8] or usageDay > v[8]) then a[#a + 1] = 'ud'; a[#a + 1] = usageDay end
  if #a > 2 then redis.call(unpack(a)) end
  local mask = string.sub(rec.tpmMask, index, index)
  local second = math.floor(rec.admittedAtMs / TPM_BUCKET_MS)
  if dTok ~= 0 and mask ~= '0' and second > math.floor(nowMs / TPM_BUCKET_MS) - TPM_WINDOW_BUCKETS then
    local tpm = keyOf(base, keyId, 'tpm')
    if mask == '1' or redis.call('HEXISTS', tpm, second) == 1 then tpmAdjust(tpm, second, dTok) end
  end
  return v[8]
end

-- Processes at most REAP_BATCH due entries of resexp in due order: a pending reservation whose lease expired
-- (counters -= reserved, slots freed, kept as a reaped mark due REAPED_RETENTION_MS later, so a late settle
-- records its real usage once) or a reaped mark past its retention (dropped). One ZRANGEBYSCORE when nothing
-- is due, which is the common case. p: the current periods.
local function reap(base, resKey, expKey, nowMs, p)
  local due = redis.call('ZRANGEBYSCORE', expKey, '-inf', nowMs, 'LIMIT', 0, REAP_BATCH)
  for _, requestId in ipairs(due) do
    local raw = redis.call('HGET', resKey, requestId)
    local rec = raw and parseRecord(raw)
    if rec and rec.status == 'p' then
      for index, keyId in ipairs(rec.keyIds) do
        adjustKey(base, keyId, rec, index, -rec.tokens, -rec.costTicks, nowMs, p, nil)
        redis.call('ZREM', keyOf(base, keyId, 'conc'), requestId)
      end
      rec.status = 'r'
      rec.reapedAtMs = nowMs
      redis.call('HSET', resKey, requestId, encodeRecord(rec))
      redis.call('ZADD', expKey, nowMs + REAPED_RETENTION_MS, requestId)
    else
      if rec then redis.call('HDEL', resKey, requestId) end
      redis.call('ZREM', expKey, requestId)
    end
  end
end
`;
