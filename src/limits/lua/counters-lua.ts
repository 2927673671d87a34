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
 * admission of a day (its field absent) moves the markers and deletes the fields of the period before the
 * previous one: counters are kept for the current and the previous day and month, so a settlement after
 * midnight still finds its own day and an instance whose clock is a little behind at midnight still counts
 * into its day; a period older than both is counted nowhere (a clock more than a day behind).
 */
export const COUNTERS_LUA = `
local function periodFields(dayId, monthId)
  return { day = dayId, month = monthId, d = 'd:' .. dayId, m = 'm:' .. monthId }
end

-- The counters an earlier layout kept in separate keys ('total', 'd:<day>', 'm:<month>': hashes of decimal
-- req/tok/cost) are taken over once, when a key's counters hash has no lifetime field yet. Returns true
-- when it wrote them.
local function seedLegacy(base, keyId, ckey, p)
  local total = redis.call('HMGET', keyOf(base, keyId, 'total'), 'tok', 'cost')
  if not total[1] and not total[2] then return false end
  local d = redis.call('HMGET', keyOf(base, keyId, 'd:' .. p.day), 'req', 'tok', 'cost')
  local m = redis.call('HMGET', keyOf(base, keyId, 'm:' .. p.month), 'tok', 'cost')
  redis.call('HSET', ckey, 'l', struct.pack('<ddd', num(total[1]), num(total[2]), 0),
    p.d, struct.pack('<ddd', num(d[1]), num(d[2]), num(d[3])), p.m, struct.pack('<dd', num(m[1]), num(m[2])),
    'd', p.day, 'm', p.month)
  return true
end

-- HMGET of a key's counters hash; takes over an earlier layout's counters first if needed (fields[at] = 'l').
local function readCounters(base, keyId, ckey, p, fields, at)
  local v = redis.call('HMGET', ckey, unpack(fields))
  if not v[at] and seedLegacy(base, keyId, ckey, p) then v = redis.call('HMGET', ckey, unpack(fields)) end
  return v
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

-- First admission of day p.day for this key: moves the markers, deletes the periods before the previous
-- ones, appends the marker fields to the HSET argument list a. Returns whether the day and the month may be
-- counted (false for a period older than both kept ones).
local function rollover(ckey, p, a)
  local mk = redis.call('HMGET', ckey, 'd', 'pd', 'm', 'pm')
  local d, pd, m, pm = mk[1], mk[2], mk[3], mk[4]
  local del = {}
  local dayOk, monthOk = true, true
  if not d or p.day > d then
    if pd then del[#del + 1] = 'd:' .. pd end
    if d then a[#a + 1] = 'pd'; a[#a + 1] = d end
    a[#a + 1] = 'd'; a[#a + 1] = p.day
  elseif p.day ~= d and p.day ~= pd then
    dayOk = false
  end
  if not m or p.month > m then
    if pm then del[#del + 1] = 'm:' .. pm end
    if m then a[#a + 1] = 'pm'; a[#a + 1] = m end
    a[#a + 1] = 'm'; a[#a + 1] = p.month
  elseif p.month ~= m and p.month ~= pm then
    monthOk = false
  end
  if #del > 0 then redis.call('HDEL', ckey, unpack(del)) end
  return dayOk, monthOk
end
`;
