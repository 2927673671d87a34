-- xai-gateway limiter: BATCH of admissions ('a'), settlements ('s') and lease renewals ('r') of one key
-- family, in order.
--
-- KEYS[1]  <base>res     KEYS[2]  <base>resexp   (the family's; see ADMIT and SETTLE below)
-- ARGV     items, each: kind ('a' | 's' | 'r'), n (its argument count, decimal), then its n arguments —
--          exactly the ARGV of ADMIT, SETTLE or RENEW below
-- Returns: one reply per item, in order: ADMIT's array (or -1 when the requestId already has a record:
--          XGW_DUPLICATE_REQUEST_ID), SETTLE's 1 | 0, RENEW's 1 | 0.

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

-- SETTLE one reservation (replace it by the real usage, exactly once).
--
-- KEYS[1]  <base>res     HASH requestId -> reservation record
-- KEYS[2]  <base>resexp  ZSET reservation record -> when it is due (lease expiry / end of a reaped mark's
--                        retention)
-- ARGV[1]  base: '<prefix>v2:{<familyId>}:'
-- ARGV[2]  requestId
-- ARGV[3]  <ddd packed: nowMs, actual total tokens, actual cost in ticks (both 0 for a release)
-- ARGV[4]  the usage as 7 packed doubles in USAGE_METRICS order (req, pt, ct, rt, cached, tt, cost; requests
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
-- (400 days) and the days index are maintained on a key's first usage of a day (counters field 'ud').

local WINDOW_MS = 60000
local TPM_BUCKET_MS = 1000
local TPM_WINDOW_BUCKETS = 61
local REAPED_RETENTION_MS = 86400000
-- The per-minute window hashes' TTL is renewed whenever their window moves on.
-- (as strings: a Lua number passed to redis.call is formatted with %.17g on every call)
local TPM_TTL_MS = '62000'
local REAP_BATCH_S = '50'
local N_STATE = 14
-- a subject's limits travel packed: N_LIMITS little-endian doubles in ENFORCED_LIMITS order, -1 = none
local LIMITS_FORMAT = '<dddddddddd'
local L_RPM = 1
local L_TPM = 3
-- state vector index of the counter each limit compares, and what a request adds (0 one, 1 tokens, 2 cost)
local USED_FIELD = { 1, 8, 4, 9, 11, 10, 12, 13, 14, 7 }
local DEMAND = { 0, 0, 1, 1, 1, 2, 2, 1, 2, 0 }

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

local function periodFields(dayId, monthId)
  return { day = dayId, month = monthId, d = 'd:' .. dayId, m = 'm:' .. monthId }
end

-- HMGET of a key's counters hash.
local function readCounters(ckey, fields)
  return redis.call('HMGET', ckey, unpack(fields))
end


-- Settlement / reaping: delta into bucket second (field name sec) if the hash still has it in its window
-- (a trimmed bucket is never recreated; one that reaches 0 is removed).
local function tpmAdjust(key, second, sec, delta)
  local v = redis.call('HMGET', key, 'w', sec)
  if not v[1] then return end
  local s, ts, lo = struct.unpack('<ddd', v[1])
  if second < ts then return end
  local cur = 0
  if v[2] then cur = struct.unpack('<d', v[2]) end
  local new = cur + delta
  if new > 0 then
    if cur <= 0 and lo >= 0 and second < lo then lo = second end
    redis.call('HSET', key, sec, struct.pack('<d', new), 'w', struct.pack('<ddd', s + delta, ts, lo))
  else
    if lo == second then lo = -1 end
    redis.call('HSET', key, 'w', struct.pack('<ddd', s - cur, ts, lo))
    if v[2] then redis.call('HDEL', key, sec) end
  end
end

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


-- A reservation record (format in COMMON_LUA) as stored.
local function encodeRecord(rec)
  return '3' .. rec.status .. struct.pack('<dddd', rec.admittedAtMs, rec.tokens, rec.costTicks, rec.reapedAtMs)
    .. rec.day .. '|' .. rec.month .. '|' .. rec.tpmMask .. '|' .. table.concat(rec.keyIds, '|') .. '|' .. rec.requestId
end

-- Processes at most REAP_BATCH due entries of resexp in due order: a pending reservation whose lease expired
-- — its instance stopped renewing it: it died — is charged as reserved (the counters keep it) and no longer
-- in flight, kept as a charged mark 'c' due REAPED_RETENTION_MS later, so a late settle replaces the charge by
-- the real usage once; or a mark past its retention (dropped). One ZRANGEBYSCORE when
-- nothing is due, which is the common case. now: nowMs as the caller's decimal string; p: current periods.
local function reap(base, resKey, expKey, nowMs, now, p)
  local due = redis.call('ZRANGEBYSCORE', expKey, '-inf', now, 'LIMIT', '0', REAP_BATCH_S)
  for _, member in ipairs(due) do
    redis.call('ZREM', expKey, member)
    -- the member is the record res holds under its requestId (unless that was settled or replaced meanwhile)
    local rec = parseRecord(member)
    if rec and redis.call('HGET', resKey, rec.requestId) ~= member then rec = nil end
    local requestId = rec and rec.requestId
    if rec and rec.status == 'p' then
      for index, keyId in ipairs(rec.keyIds) do
        adjustKey(base, keyId, rec, index, 0, 0, 0, nowMs, p, true, nil)
      end
      rec.status, rec.reapedAtMs = 'c', nowMs
      local record = encodeRecord(rec)
      redis.call('HSET', resKey, requestId, record)
      redis.call('ZADD', expKey, fmt(nowMs + REAPED_RETENTION_MS), record)
    elseif rec then
      redis.call('HDEL', resKey, requestId)
    end
  end
end

local function day3(raw)
  if not raw then return 0, 0, 0 end
  local r, t, c = struct.unpack('<ddd', raw)
  return r, t, c
end

local function month2(raw)
  if not raw then return 0, 0 end
  local t, c = struct.unpack('<dd', raw)
  return t, c
end

local function life3(raw)
  if not raw then return 0, 0, 0 end
  local t, c, n = struct.unpack('<ddd', raw)
  return t, c, n
end

-- First admission of day p.day for this key (its field is absent): keeps the two most recent days (and
-- months) seen — moving the markers and deleting the fields of the one that drops out — and appends the
-- marker fields to the HSET argument list a. Returns whether the day and the month may be counted (false
-- for one older than both kept ones).
local function keepRecent(id, current, previous, name, a, del)
  if not current or id > current then
    if previous then del[#del + 1] = name .. ':' .. previous end
    if current then a[#a + 1] = 'p' .. name; a[#a + 1] = current end
    a[#a + 1] = name; a[#a + 1] = id
  elseif id ~= current and id ~= previous then
    if previous and id < previous then return false end
    if previous then del[#del + 1] = name .. ':' .. previous end
    a[#a + 1] = 'p' .. name; a[#a + 1] = id
  end
  return true
end

local function rollover(ckey, p, a)
  local mk = redis.call('HMGET', ckey, 'd', 'pd', 'm', 'pm')
  local del = {}
  local dayOk = keepRecent(p.day, mk[1], mk[2], 'd', a, del)
  local monthOk = keepRecent(p.month, mk[3], mk[4], 'm', a, del)
  if #del > 0 then redis.call('HDEL', ckey, unpack(del)) end
  return dayOk, monthOk
end

-- Recomputes w (s, ts, lo) and the current bucket from every field: a new hash, or a clock jump.
local function tpmRebuild(key, w, startSecond)
  local flat = redis.call('HGETALL', key)
  local s, lo, stale = 0, -1, {}
  w.cur = 0
  for i = 1, #flat, 2 do
    local second = tonumber(flat[i])
    if second then
      local tokens = struct.unpack('<d', flat[i + 1])
      if second < startSecond or tokens <= 0 then
        stale[#stale + 1] = flat[i]
      else
        s = s + tokens
        if lo < 0 or second < lo then lo = second end
        if second == w.nowSecond then w.cur = tokens end
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  w.s, w.ts, w.lo, w.dirty, w.trimmed = s, startSecond, lo, true, true
end

-- The window at nowSecond (its field name sec): { s, ts, lo, cur (the current bucket) }, after dropping the
-- buckets that left it; changes are written at once (a refused admission or a probe must leave s right).
local function tpmWindow(key, nowSecond, sec)
  local v = redis.call('HMGET', key, 'w', sec)
  local w = { s = 0, ts = 0, lo = -1, cur = 0, nowSecond = nowSecond, sec = sec, dirty = false, trimmed = false }
  local startSecond = nowSecond - (TPM_WINDOW_BUCKETS - 1)
  if v[1] then w.s, w.ts, w.lo = struct.unpack('<ddd', v[1]) end
  if not v[1] or startSecond - w.ts >= 2 * TPM_WINDOW_BUCKETS then
    tpmRebuild(key, w, startSecond)
  else
    if v[2] then w.cur = struct.unpack('<d', v[2]) end
    if startSecond > w.ts then
      local seconds = {}
      for second = w.ts, startSecond - 1 do seconds[#seconds + 1] = second end
      local values = redis.call('HMGET', key, unpack(seconds))
      local gone, removed = {}, 0
      for i = 1, #seconds do
        if values[i] then
          gone[#gone + 1] = seconds[i]
          removed = removed + struct.unpack('<d', values[i])
        end
      end
      if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
      w.s, w.ts, w.dirty, w.trimmed = w.s - removed, startSecond, true, true
    end
  end
  if w.lo >= 0 and w.lo < w.ts then w.lo = -1 end
  if w.s > 0 and w.lo < 0 then
    -- the lowest bucket present, 16 seconds per HMGET (under steady traffic the first one is it)
    local from = w.ts
    while w.lo < 0 and from <= nowSecond do
      local seconds = {}
      for second = from, math.min(from + 15, nowSecond) do seconds[#seconds + 1] = second end
      local values = redis.call('HMGET', key, unpack(seconds))
      for i = 1, #seconds do
        if values[i] then w.lo = seconds[i]; break end
      end
      from = from + 16
    end
    if w.lo < 0 then tpmRebuild(key, w, startSecond) end -- only buckets ahead of the clock, or s drifted
    w.dirty = true
  end
  if w.dirty then
    redis.call('HSET', key, 'w', struct.pack('<ddd', w.s, w.ts, w.lo))
    if w.trimmed then redis.call('PEXPIRE', key, TPM_TTL_MS) end
  end
  return w
end

-- The bucket whose leaving frees at least need tokens, counting every older one (window-math.ts
-- tpmReleaseSecond); -1 if the whole window is not enough. Reads buckets upward from ts (refusals only).
local function tpmRelease(key, w, need)
  local freed, seen, from = 0, 0, w.ts
  while seen < w.s and from <= w.nowSecond + TPM_WINDOW_BUCKETS do
    local seconds = {}
    for second = from, from + 15 do seconds[#seconds + 1] = second end
    local values = redis.call('HMGET', key, unpack(seconds))
    for i = 1, #seconds do
      if values[i] then
        local tokens = struct.unpack('<d', values[i])
        freed, seen = freed + tokens, seen + tokens
        if freed >= need then return seconds[i] end
      end
    end
    from = from + 16
  end
  return -1
end

-- Admission's write: tokens into the current second's bucket (one HSET of the bucket and w).
local function tpmAdd(key, w, tokens)
  if tokens <= 0 then return end
  if w.lo < 0 or w.nowSecond < w.lo then w.lo = w.nowSecond end
  redis.call('HSET', key, w.sec, struct.pack('<d', w.cur + tokens), 'w', struct.pack('<ddd', w.s + tokens, w.ts, w.lo))
end


-- One subject's state vector (SUBJECT_STATE_FIELDS order, -1 = null) before this request, and a context for
-- the admission's writes (ckey, v: its counters hash and the fields read — d:<day>, m:<month>, l —, rpm and
-- tpm: its requestsPerMinute and tokensPerMinute windows). lim: limits by ENFORCED_LIMITS index (-1 = none);
-- t: the caller's decimal strings (sec: the current second's field name). Reads only what the subject's
-- limits need besides its counters.
local function readState(base, keyId, lim, nowMs, p, t, estTokens)
  local ckey = keyOf(base, keyId, 'ctr')
  local v = readCounters(ckey, { p.d, p.m, 'l' })
  local ctx = { ckey = ckey, v = v }
  local nowSecond = math.floor(nowMs / TPM_BUCKET_MS)
  local rpmCount, rpmOldest, rpmRelease = 0, -1, -1
  local limit = lim[L_RPM]
  if limit >= 0 then
    -- requests per second, in a window hash like tokensPerMinute's (a request is 1); state in "log" ms, the
    -- bucket's leaving time minus WINDOW_MS (window-math.ts rpmBucketMs)
    local key = keyOf(base, keyId, 'rpmw')
    local w = tpmWindow(key, nowSecond, t.sec)
    ctx.rpm = w
    rpmCount = w.s
    if w.s > 0 then rpmOldest = (w.lo + TPM_WINDOW_BUCKETS) * TPM_BUCKET_MS - WINDOW_MS end
    local need = w.s + 1 - limit
    if limit > 0 and need > 0 then
      local released = tpmRelease(key, w, need)
      if released >= 0 then rpmRelease = (released + TPM_WINDOW_BUCKETS) * TPM_BUCKET_MS - WINDOW_MS end
    end
  end
  local tpmTokens, tpmOldest, tpmReleased = 0, -1, -1
  limit = lim[L_TPM]
  if limit >= 0 then
    local key = keyOf(base, keyId, 'tpm')
    local w = tpmWindow(key, nowSecond, t.sec)
    ctx.tpm = w
    tpmTokens = w.s
    if w.s > 0 then tpmOldest = w.lo end
    local need = w.s + estTokens - limit
    if need > 0 then tpmReleased = tpmRelease(key, w, need) end
  end
  local dr, dt, dc = day3(v[1])
  local mt, mc = month2(v[2])
  local lt, lc, n = life3(v[3])
  return { rpmCount, rpmOldest, rpmRelease, tpmTokens, tpmOldest, tpmReleased, n, dr, dt, dc, mt, mc, lt, lc }, ctx
end

local function admitOne(ARGV)

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

end

local function settleOne(ARGV)

local USAGE_TTL_MS = '34560000000'
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
if hasUsage then u = { struct.unpack('<ddddddd', ARGV[4]) } end

local function recordUsage(keyId, firstOfDay)
  local key = keyOf(base, keyId, 'u:' .. settleDay)
  local old = redis.call('HGET', key, model)
  local value = ARGV[4]
  if old and #old == 56 then
    local o = { struct.unpack('<ddddddd', old) }
    value = struct.pack('<ddddddd', o[1] + u[1], o[2] + u[2], o[3] + u[3], o[4] + u[4], o[5] + u[5], o[6] + u[6], o[7] + u[7])
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

end

-- RENEW one reservation's lease (heartbeat): ARGV[1] requestId, ARGV[2] the new due ms as a decimal string.
-- Only a pending reservation is renewed (one settled or reaped meanwhile stays as it is), and a lease is never
-- shortened (GT: a renewal from a clock behind the admission's changes nothing). Returns 1 | 0.
local function renewOne(ARGV)
  local raw = redis.call('HGET', KEYS[1], ARGV[1])
  if not raw or string.sub(raw, 1, 2) ~= '3p' then return 0 end
  redis.call('ZADD', KEYS[2], 'XX', 'GT', ARGV[2], raw)
  return 1
end

local out, pos, last = {}, 1, #ARGV
while pos <= last do
  local kind, n = ARGV[pos], tonumber(ARGV[pos + 1])
  local args = { unpack(ARGV, pos + 2, pos + 1 + n) }
  pos = pos + 2 + n
  local r
  if kind == 'a' then r = admitOne(args) elseif kind == 'r' then r = renewOne(args) else r = settleOne(args) end
  if type(r) == 'table' and r.err then r = -1 end
  out[#out + 1] = r
end
return out
