import { ENFORCED_LIMITS } from '../enforced-limits.js';
import { DEMAND_KIND, SUBJECT_STATE_FIELDS, USED_FIELD } from '../evaluate-admission.js';
import {
  REAP_BATCH,
  REAPED_RETENTION_MS,
  TPM_BUCKET_MS,
  TPM_WINDOW_BUCKETS,
  WINDOW_MS,
} from '../semantics.js';
import { COUNTERS_LUA } from './counters-lua.js';
import { TPM_ADJUST_LUA } from './tpm-lua.js';

/**
 * Lua shared by the limiter scripts (prepended to each; Redis 7 Lua 5.1). Constants and the limit tables are
 * generated from the TypeScript definitions so the two cannot drift: limit i of a subject is
 * ENFORCED_LIMITS[i] (cost limits already in ticks), state field j is SUBJECT_STATE_FIELDS[j].
 *
 * Key names mirror src/limits/redis-keys.ts: `base .. keyId .. ':' .. part`. The scripts derive names from
 * ARGV base (`${prefix}v2:{familyId}:`) instead of listing all of them in KEYS because a reaped or settled
 * reservation names keys (its own keys' counters) not known to the caller; every name carries the same
 * {familyId} hash tag as KEYS[1], so all live in KEYS[1]'s Cluster slot. Redis and Redis Cluster allow this
 * for scripts without a shebang; proxies that insist on every key being in KEYS are not supported.
 *
 * Cost ("Redis cost per request" in semantics.ts; measured in instructions with callgrind): a command run
 * from a script costs roughly 5–10 thousand instructions, about one more thousand per argument or reply
 * element; parsing a decimal in Lua (tonumber) 2–3 thousand, formatting one (string.format, or a Lua number
 * passed to redis.call, which Redis formats with %.17g) 2–5 thousand; struct.pack/unpack of a few doubles a
 * few hundred. So the scripts run few commands, read exactly the fields they need, keep numbers as packed
 * doubles and take the decimal strings Redis needs (scores, bounds, field names) ready from the caller.
 *
 * Numbers: Redis Lua numbers (and the packed doubles) are exact up to 2^53 (≈ 900 000 USD in ticks per
 * counter; beyond that a sum is off by a few ticks, 1e-10 USD each). Integers that go into strings are
 * formatted with %.0f, never with tostring (which prints 1e+15).
 */

const stateIndex = (field: (typeof SUBJECT_STATE_FIELDS)[number]): number => SUBJECT_STATE_FIELDS.indexOf(field) + 1;
const DEMAND_CODE = { request: 0, tokens: 1, cost: 2 } as const;

export const COMMON_LUA = `
local WINDOW_MS = ${WINDOW_MS}
local TPM_BUCKET_MS = ${TPM_BUCKET_MS}
local TPM_WINDOW_BUCKETS = ${TPM_WINDOW_BUCKETS}
local REAPED_RETENTION_MS = ${REAPED_RETENTION_MS}
-- The per-minute window hashes' TTL is renewed whenever their window moves on.
-- (as strings: a Lua number passed to redis.call is formatted with %.17g on every call)
local TPM_TTL_MS = '${(TPM_WINDOW_BUCKETS + 1) * TPM_BUCKET_MS}'
local REAP_BATCH_S = '${REAP_BATCH}'
local N_STATE = ${SUBJECT_STATE_FIELDS.length}
-- a subject's limits travel packed: N_LIMITS little-endian doubles in ENFORCED_LIMITS order, -1 = none
local LIMITS_FORMAT = '<${'d'.repeat(ENFORCED_LIMITS.length)}'
local L_RPM = ${ENFORCED_LIMITS.indexOf('requestsPerMinute') + 1}
local L_TPM = ${ENFORCED_LIMITS.indexOf('tokensPerMinute') + 1}
-- state vector index of the counter each limit compares, and what a request adds (0 one, 1 tokens, 2 cost)
local USED_FIELD = { ${ENFORCED_LIMITS.map((limit) => stateIndex(USED_FIELD[limit])).join(', ')} }
local DEMAND = { ${ENFORCED_LIMITS.map((limit) => DEMAND_CODE[DEMAND_KIND[limit]]).join(', ')} }

local function fmt(n) return string.format('%.0f', n) end

-- a decimal reply value (false = nil bulk) as a number, 0 when absent
local function num(v)
  if not v then return 0 end
  return tonumber(v) or 0
end

local function keyOf(base, keyId, part) return base .. keyId .. ':' .. part end

-- Reservation record: the value of HASH res (field requestId) and the member of ZSET resexp (so resexp is a
-- skiplist, and the reaper reads records without a lookup); an admission's is built by the caller
-- (redis-args.ts pendingRecord):
--   '3' status(1 byte: p pending / r reaped) <dddd(admittedAtMs, tokens, costTicks, reapedAtMs)
--   'dayId|monthId|tpmMask|keyId|...|keyId|requestId'
-- tpmMask: one '1'/'0' per keyId (so it also counts them), whether admission counted the request in that
-- key's tokensPerMinute window (only then does settlement correct its bucket); the requestId comes last (it
-- may contain '|'). nil when raw is not a record.
local function parseRecord(raw)
  local rec = { keyIds = {} }
  if string.sub(raw, 1, 1) == '3' and #raw > 34 then
    rec.status = string.sub(raw, 2, 2)
    rec.admittedAtMs, rec.tokens, rec.costTicks, rec.reapedAtMs = struct.unpack('<dddd', raw, 3)
    local pos, parts = 35, {}
    for k = 1, 3 do
      local bar = string.find(raw, '|', pos, true)
      if not bar then return nil end
      parts[k] = string.sub(raw, pos, bar - 1)
      pos = bar + 1
    end
    rec.day, rec.month, rec.tpmMask = parts[1], parts[2], parts[3]
    for k = 1, #rec.tpmMask do
      local bar = string.find(raw, '|', pos, true)
      if not bar then return nil end
      rec.keyIds[k] = string.sub(raw, pos, bar - 1)
      pos = bar + 1
    end
    rec.requestId = string.sub(raw, pos)
    return rec
  end
  return nil
end
` + COUNTERS_LUA + TPM_ADJUST_LUA + `
-- Corrects one key's counters for a reservation (settlement or reaping): dTok/dCost into its own day and
-- month (only while the counters hash still keeps them: an ended period is never recreated) and lifetime
-- totals, and into its tokensPerMinute bucket if admission counted it there and the bucket is still in the
-- window at nowMs; release: it stops counting as in flight. p: the current periods (periodFields). usageDay: when given, recorded as
-- the key's newest day with usage ('ud'). dReq: into the day's request count (-1 when leased capacity is given
-- back unused, else 0). Returns the key's 'ud' as it was.
local function adjustKey(base, keyId, rec, index, dTok, dCost, dReq, nowMs, p, release, usageDay)
  local ckey = keyOf(base, keyId, 'ctr')
  local df, mf = 'd:' .. rec.day, 'm:' .. rec.month
  local v = readCounters(ckey, { df, mf, 'l', 'ud' })
  local a = { 'HSET', ckey }
  if v[1] and (dTok ~= 0 or dCost ~= 0 or dReq ~= 0) then
    local r, t, c = struct.unpack('<ddd', v[1])
    a[#a + 1] = df; a[#a + 1] = struct.pack('<ddd', math.max(0, r + dReq), t + dTok, c + dCost)
  end
  if v[2] and (dTok ~= 0 or dCost ~= 0) then
    local t, c = struct.unpack('<dd', v[2])
    a[#a + 1] = mf; a[#a + 1] = struct.pack('<dd', t + dTok, c + dCost)
  end
  if v[3] then
    local t, c, n = struct.unpack('<ddd', v[3])
    if release and n > 0 then n = n - 1 end
    a[#a + 1] = 'l'; a[#a + 1] = struct.pack('<ddd', t + dTok, c + dCost, n)
  end
  if usageDay and (not v[4] or usageDay > v[4]) then a[#a + 1] = 'ud'; a[#a + 1] = usageDay end
  if #a > 2 then redis.call(unpack(a)) end
  local mask = string.sub(rec.tpmMask, index, index)
  local second = math.floor(rec.admittedAtMs / TPM_BUCKET_MS)
  if dTok ~= 0 and mask == '1' and second > math.floor(nowMs / TPM_BUCKET_MS) - TPM_WINDOW_BUCKETS then
    local tpm, sec = keyOf(base, keyId, 'tpm'), fmt(second)
    tpmAdjust(tpm, second, sec, dTok)
  end
  return v[4]
end

`;
