import { ADMISSION_LUA } from './admission-lua.js';
import { ADMIT_BODY, ADMIT_DOC } from './admit-script.js';
import { COMMON_LUA } from './common-lua.js';
import { SETTLE_BODY, SETTLE_DOC } from './settle-script.js';

/**
 * The limiter's one write script: a batch of admissions and settlements of ONE key family, run in the order
 * they were issued (src/limits/script-batcher.ts collects them). Each item runs exactly as it would alone —
 * a later item sees what the earlier ones wrote — so a batch of n is the same as n scripts back to back,
 * but costs one round trip and one script call instead of n: on a busy gateway that is most of what the
 * limiter costs the gateway (command encoding, reply parsing, socket wake-ups) and a part of what it costs
 * Redis.
 */
export const BATCH_LUA = `
-- xai-gateway limiter: BATCH of admissions ('a'), settlements ('s') and lease renewals ('r') of one key
-- family, in order.
--
-- KEYS[1]  <base>res     KEYS[2]  <base>resexp   (the family's; see ADMIT and SETTLE below)
-- ARGV     items, each: kind ('a' | 's' | 'r'), n (its argument count, decimal), then its n arguments —
--          exactly the ARGV of ADMIT, SETTLE or RENEW below
-- Returns: one reply per item, in order: ADMIT's array (or -1 when the requestId already has a record:
--          XGW_DUPLICATE_REQUEST_ID), SETTLE's 1 | 0, RENEW's 1 | 0.
` + ADMIT_DOC + SETTLE_DOC + COMMON_LUA + ADMISSION_LUA + `
local function admitOne(ARGV)
` + ADMIT_BODY + `
end

local function settleOne(ARGV)
` + SETTLE_BODY + `
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
`;
