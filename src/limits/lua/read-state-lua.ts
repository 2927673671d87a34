/**
 * Lua reading one subject's state for ADMIT and PROBE (after COMMON_LUA). Mirrors
 * src/limits/memory-state.ts readState and window-math.ts (rpmReleaseMs, tpmReleaseSecond).
 */
export const READ_STATE_LUA = `
-- One subject's state vector (SUBJECT_STATE_FIELDS order, -1 = null) before this request, and a context for
-- the admission's writes: ctx.ckey/ctx.v its counters hash and the values read (r, t, c of the day, t, c of
-- the month, tt, tc, rs), ctx.tpm its tokensPerMinute window. lim: limit index -> value (absent = none).
-- Reads only what the subject's limits need besides its counters: the requestsPerMinute log is counted
-- inside the window (it is trimmed lazily, on admission), live concurrency slots are counted by expiry
-- (expired ones are removed when their reservation is reaped).
local function readState(base, keyId, lim, nowMs, p, estTokens)
  local ckey = keyOf(base, keyId, 'ctr')
  local v = readCounters(base, keyId, ckey, p, { p.r, p.t, p.c, p.mt, p.mc, 'tt', 'tc', 'rs' }, 6)
  local ctx = { ckey = ckey, v = v }
  local rpmCount, rpmOldest, rpmRelease = 0, -1, -1
  local limit = lim[L_RPM]
  if limit then
    local key = keyOf(base, keyId, 'rpm')
    local after = '(' .. fmt(nowMs - WINDOW_MS)
    rpmCount = redis.call('ZCOUNT', key, after, '+inf')
    if rpmCount > 0 then
      rpmOldest = tonumber(redis.call('ZRANGEBYSCORE', key, after, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)[2])
      local mustLeave = rpmCount + 1 - limit
      if limit > 0 and mustLeave > 0 then
        rpmRelease = rpmOldest
        if mustLeave > 1 then
          rpmRelease = tonumber(redis.call('ZRANGEBYSCORE', key, after, '+inf', 'WITHSCORES', 'LIMIT', mustLeave - 1, 1)[2])
        end
      end
    end
  end
  local tpmTokens, tpmOldest, tpmReleased = 0, -1, -1
  limit = lim[L_TPM]
  if limit then
    local key = keyOf(base, keyId, 'tpm')
    local w = tpmWindow(key, nowMs)
    ctx.tpm = w
    tpmTokens = w.s
    if w.s > 0 then tpmOldest = w.lo end
    local need = w.s + estTokens - limit
    if need > 0 then tpmReleased = tpmRelease(key, w, need) end
  end
  local concurrent = 0
  if lim[L_CONC] then concurrent = redis.call('ZCOUNT', keyOf(base, keyId, 'conc'), '(' .. fmt(nowMs), '+inf') end
  return { rpmCount, rpmOldest, rpmRelease, tpmTokens, tpmOldest, tpmReleased, concurrent,
    num(v[1]), num(v[2]), num(v[3]), num(v[4]), num(v[5]), num(v[6]), num(v[7]) }, ctx
end
`;
