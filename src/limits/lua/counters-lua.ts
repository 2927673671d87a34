/**
 * Lua for a key's counters hash (`<base><keyId>:ctr`, layout in src/limits/redis-keys.ts). Part of COMMON_LUA.
 *
 * Values are little-endian IEEE doubles packed with struct.pack, not decimal strings: parsing a decimal
 * (tonumber, strtod) or formatting one (a Lua number passed to redis.call, %.17g) costs 2–3 thousand
 * instructions per number, more than the rest of a counter's read and write together.
 *   d:<day>    <ddd  requests, tokens, cost of that UTC day (used + reserved)
 *   m:<month>  <dd   tokens, cost of that UTC month
 *   l          <ddd  lifetime tokens, lifetime cost, reservations in flight (what concurrency counts)
 *   rs         <d    nowMs of the requestsPerMinute log's last trim
 *   d pd m pm  ids of the current and previous day / month that have fields
 *   ud         newest UTC day with usage recorded (the days index is maintained once per key and day)
 * Periods are named in the field, so admission needs no read of which period is current. The first
 * admission of a day (its field absent) updates the markers so that the two most recent days (and months)
 * seen are kept and deletes the fields of the one that drops out: a settlement after midnight still finds
 * its own day, an instance whose clock is a little behind at midnight still counts into its day; a period
 * older than both is counted nowhere (a clock more than a day behind).
 */
export const COUNTERS_LUA = `
local function periodFields(dayId, monthId)
  return { day = dayId, month = monthId, d = 'd:' .. dayId, m = 'm:' .. monthId }
end

-- HMGET of a key's counters hash.
local function readCounters(ckey, fields)
  return redis.call('HMGET', ckey, unpack(fields))
end

`;

/** The part only admission uses: decoding a counters read for the state, and moving to a new day. */
export const COUNTERS_ADMIT_LUA = `
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
`;
