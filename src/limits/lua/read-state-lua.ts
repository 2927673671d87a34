/**
 * Lua reading one subject's state for ADMIT and PROBE (the end of ADMISSION_LUA). Mirrors
 * src/limits/memory-state.ts readState and window-math.ts (rpmReleaseMs, tpmReleaseSecond).
 */
export const READ_STATE_LUA = `
-- One subject's state vector (SUBJECT_STATE_FIELDS order, -1 = null) before this request, and a context for
-- the admission's writes (ckey, v: its counters hash and the fields read — d:<day>, m:<month>, l, rs —,
-- tpm: its tokensPerMinute window). lim: limits by ENFORCED_LIMITS index (-1 = none); t: the caller's
-- decimal strings (rpmAfter '(<nowMs - WINDOW_MS>', sec: the current second's field name). Reads only what
-- the subject's limits need besides its counters; the requestsPerMinute log is counted inside the window
-- (it is trimmed lazily, on admission). rpmOldest/rpmRelease are returned as the log's score strings.
local function readState(base, keyId, lim, nowMs, p, t, estTokens)
  local ckey = keyOf(base, keyId, 'ctr')
  local fields = { p.d, p.m, 'l' }
  if lim[L_RPM] >= 0 then fields[4] = 'rs' end
  local v = readCounters(base, keyId, ckey, p, fields, 3)
  local ctx = { ckey = ckey, v = v }
  local rpmCount, rpmOldest, rpmRelease = 0, -1, -1
  local limit = lim[L_RPM]
  if limit >= 0 then
    local key = keyOf(base, keyId, 'rpm')
    rpmCount = redis.call('ZCOUNT', key, t.rpmAfter, '+inf')
    if rpmCount > 0 then
      rpmOldest = redis.call('ZRANGEBYSCORE', key, t.rpmAfter, '+inf', 'WITHSCORES', 'LIMIT', '0', '1')[2]
      local mustLeave = rpmCount + 1 - limit
      if limit > 0 and mustLeave > 0 then
        rpmRelease = rpmOldest
        if mustLeave > 1 then
          rpmRelease = redis.call('ZRANGEBYSCORE', key, t.rpmAfter, '+inf', 'WITHSCORES', 'LIMIT', mustLeave - 1, '1')[2]
        end
      end
    end
  end
  local tpmTokens, tpmOldest, tpmReleased = 0, -1, -1
  limit = lim[L_TPM]
  if limit >= 0 then
    local key = keyOf(base, keyId, 'tpm')
    local w = tpmWindow(key, math.floor(nowMs / TPM_BUCKET_MS), t.sec)
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
`;
