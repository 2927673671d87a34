/**
 * Lua for a key's tokensPerMinute hash (`<base><keyId>:tpm`). Part of COMMON_LUA.
 *
 * Fields (values packed little-endian doubles, see counters-lua.ts for why):
 *   <second>  <d    tokens of that second's bucket, > 0 (a bucket that reaches 0 is removed: unobservable,
 *                   an empty bucket adds nothing to the window and releases nothing)
 *   w         <ddd  s: sum of the buckets present; ts: no bucket below this second (the ones that left the
 *                   window were subtracted and deleted); lo: the lowest bucket present (-1 = unknown, found
 *                   again by a scan)
 * So an admission reads two fields and writes two (one HMGET, one HSET) instead of every bucket. Buckets
 * leaving the window are read and deleted when ts moves on (at most once a second), which also renews the
 * TTL: it outlives the newest bucket's window. A hash without w (new) is rebuilt from HGETALL.
 */
export const TPM_WINDOW_LUA = `
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

`;

/** The part settlement uses too: correcting one bucket. */
export const TPM_ADJUST_LUA = `
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
`;
