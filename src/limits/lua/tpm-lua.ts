/**
 * Lua for a key's tokensPerMinute hash (`<base><keyId>:tpm`). Part of COMMON_LUA (uses num, fmt).
 *
 * Fields: '<second>' → tokens of that second's bucket (> 0: a bucket that reaches 0 is removed, which is
 * unobservable: empty buckets add nothing to the window and release nothing), and three to avoid reading
 * every bucket on every admission:
 *   s   sum of the buckets present
 *   ts  no bucket below this second (buckets that left the window were subtracted from s and deleted)
 *   lo  the lowest bucket present; absent or below ts = unknown, found again by a scan
 * An admission reads s, ts, lo and the current bucket (one HMGET); buckets leaving the window are read and
 * deleted at most once a second (when ts advances), which also renews the TTL (it outlives the newest
 * bucket's window). A hash without ts (new, or written by an earlier layout) is rebuilt from HGETALL.
 */
export const TPM_LUA = `
-- Recomputes s, ts and lo from every field (a new hash, an earlier layout's, or a clock jump).
local function tpmRebuild(key, w, startSecond)
  local flat = redis.call('HGETALL', key)
  local s, lo, stale = 0, nil, {}
  for i = 1, #flat, 2 do
    local second = tonumber(flat[i])
    if second then
      local tokens = tonumber(flat[i + 1])
      if second < startSecond or tokens <= 0 then
        stale[#stale + 1] = flat[i]
      else
        s = s + tokens
        if not lo or second < lo then lo = second end
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  w.s, w.ts, w.lo, w.dirty, w.trimmed = s, startSecond, lo, true, true
  if w.cur <= 0 then w.cur = 0 end
end

-- The window of the tpm hash at nowMs: { s, ts, lo, cur (current second's bucket), nowSecond }, after
-- dropping the buckets that left it.
local function tpmWindow(key, nowMs)
  local nowSecond = math.floor(nowMs / TPM_BUCKET_MS)
  local startSecond = nowSecond - (TPM_WINDOW_BUCKETS - 1)
  local v = redis.call('HMGET', key, 's', 'ts', 'lo', nowSecond)
  local w = { s = num(v[1]), ts = tonumber(v[2]), lo = tonumber(v[3]), cur = num(v[4]), dirty = false, trimmed = false,
    nowSecond = nowSecond }
  if not w.ts or startSecond - w.ts >= 2 * TPM_WINDOW_BUCKETS then
    tpmRebuild(key, w, startSecond)
  elseif startSecond > w.ts then
    local seconds = {}
    for second = w.ts, startSecond - 1 do seconds[#seconds + 1] = second end
    local values = redis.call('HMGET', key, unpack(seconds))
    local gone, removed = {}, 0
    for i = 1, #seconds do
      if values[i] then
        gone[#gone + 1] = seconds[i]
        removed = removed + tonumber(values[i])
      end
    end
    if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
    w.s, w.ts, w.dirty, w.trimmed = w.s - removed, startSecond, true, true
  end
  if w.lo and w.lo < w.ts then w.lo = nil end
  if w.s > 0 and not w.lo then
    -- find the lowest bucket present, 16 seconds per HMGET (under steady traffic the first one is it)
    local from = w.ts
    while not w.lo and from <= nowSecond do
      local seconds = {}
      for second = from, math.min(from + 15, nowSecond) do seconds[#seconds + 1] = second end
      local values = redis.call('HMGET', key, unpack(seconds))
      for i = 1, #seconds do
        if values[i] then w.lo = seconds[i]; break end
      end
      from = from + 16
    end
    if not w.lo then tpmRebuild(key, w, startSecond) end -- only buckets ahead of the clock, or s drifted
    w.dirty = true
  end
  if w.dirty then
    -- persisted at once: a refused admission or a probe must not leave s out of step with the buckets
    if w.lo then redis.call('HSET', key, 's', w.s, 'ts', w.ts, 'lo', w.lo) else redis.call('HSET', key, 's', w.s, 'ts', w.ts) end
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
        local tokens = tonumber(values[i])
        freed, seen = freed + tokens, seen + tokens
        if freed >= need then return seconds[i] end
      end
    end
    from = from + 16
  end
  return -1
end

-- Admission's write: adds tokens to the current second's bucket (one HSET of the bucket, s and maybe lo).
local function tpmAdd(key, w, tokens)
  if tokens <= 0 then return end
  w.cur, w.s = w.cur + tokens, w.s + tokens
  if not w.lo or w.nowSecond < w.lo then
    w.lo = w.nowSecond
    redis.call('HSET', key, w.nowSecond, w.cur, 's', w.s, 'lo', w.lo)
  else
    redis.call('HSET', key, w.nowSecond, w.cur, 's', w.s)
  end
end

-- Settlement / reaping: adds delta to bucket second if the hash still has it in its window (a trimmed
-- bucket is never recreated; one that reaches 0 is removed).
local function tpmAdjust(key, second, delta)
  local v = redis.call('HMGET', key, 's', 'ts', 'lo', second)
  local ts = tonumber(v[2])
  if not ts or second < ts then return end
  local s, cur, lo = num(v[1]), num(v[4]), tonumber(v[3])
  local new = cur + delta
  if new > 0 then
    if lo and second < lo then
      redis.call('HSET', key, second, new, 's', s + delta, 'lo', second)
    else
      redis.call('HSET', key, second, new, 's', s + delta)
    end
  else
    redis.call('HSET', key, 's', s - cur)
    if v[4] then
      if lo == second then redis.call('HDEL', key, second, 'lo') else redis.call('HDEL', key, second) end
    end
  end
end
`;
