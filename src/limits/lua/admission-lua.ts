import { COUNTERS_ADMIT_LUA } from './counters-lua.js';
import { READ_STATE_LUA } from './read-state-lua.js';
import { TPM_WINDOW_LUA } from './tpm-lua.js';

/**
 * Lua only ADMIT and PROBE use (after COMMON_LUA): reaping due reservations, reading a subject's state
 * (its counters, requestsPerMinute log and tokensPerMinute window). Kept out of SETTLE, whose every call
 * would otherwise define these functions for nothing.
 */
export const ADMISSION_LUA = `
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
` + COUNTERS_ADMIT_LUA + TPM_WINDOW_LUA + READ_STATE_LUA;
