/**
 * Lua reading one subject's state for ADMIT and PROBE (the end of ADMISSION_LUA). Mirrors
 * src/limits/memory-state.ts readState and window-math.ts (rpmBucketMs, tpmReleaseSecond).
 */
export const READ_STATE_LUA = `
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
`;
