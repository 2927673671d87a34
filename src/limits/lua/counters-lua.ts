/**
 * Lua for a key's counters hash (`<base><keyId>:ctr`, layout in src/limits/redis-keys.ts): day, month and
 * lifetime counters in one small hash, read with one HMGET of exactly the fields needed and written with
 * one HSET. Part of COMMON_LUA (uses its num and keyOf).
 *
 * Fields are named after their period — r:<day> t:<day> c:<day> (requests, tokens, cost of a UTC day),
 * t:<month> c:<month>, tt tc (lifetime) — so admission needs no read of which period is current. Markers
 * d/pd and m/pm name the current and previous day and month: the first admission of a day (r:<day> absent)
 * moves current to previous and deletes the fields of the period before (counters are kept for the current
 * and the previous period, so a settlement after midnight still finds its own day, and an instance whose
 * clock is a little behind at midnight still counts into its day; a day older than both is counted nowhere).
 */
export const COUNTERS_LUA = `
-- Field names of the counters of period ids day / month (built once per script).
local function periodFields(dayId, monthId)
  return { day = dayId, month = monthId, r = 'r:' .. dayId, t = 't:' .. dayId, c = 'c:' .. dayId,
    mt = 't:' .. monthId, mc = 'c:' .. monthId }
end

-- The counters an earlier layout kept in separate keys ('total', 'd:<day>', 'm:<month>') are taken over
-- once, when a key's counters hash has no lifetime totals yet. Returns true when it wrote them.
local function seedLegacy(base, keyId, ckey, p)
  local total = redis.call('HMGET', keyOf(base, keyId, 'total'), 'tok', 'cost')
  if not total[1] and not total[2] then return false end
  local d = redis.call('HMGET', keyOf(base, keyId, 'd:' .. p.day), 'req', 'tok', 'cost')
  local m = redis.call('HMGET', keyOf(base, keyId, 'm:' .. p.month), 'tok', 'cost')
  redis.call('HSET', ckey, 'tt', num(total[1]), 'tc', num(total[2]), p.r, num(d[1]), p.t, num(d[2]), p.c, num(d[3]),
    p.mt, num(m[1]), p.mc, num(m[2]), 'd', p.day, 'm', p.month)
  return true
end

-- HMGET of a key's counters hash that first takes over an earlier layout's counters if needed (field
-- index lifetimeAt must be 'tt').
local function readCounters(base, keyId, ckey, p, fields, lifetimeAt)
  local v = redis.call('HMGET', ckey, unpack(fields))
  if not v[lifetimeAt] and seedLegacy(base, keyId, ckey, p) then v = redis.call('HMGET', ckey, unpack(fields)) end
  return v
end

-- First admission of period p.day for this key: moves the markers, deletes the period before the previous
-- one, and appends the marker fields to the HSET argument list a. Returns whether the day and the month
-- may be counted (false for a period older than both kept ones).
local function rollover(ckey, p, a)
  local mk = redis.call('HMGET', ckey, 'd', 'pd', 'm', 'pm')
  local d, pd, m, pm = mk[1], mk[2], mk[3], mk[4]
  local del = {}
  local dayOk, monthOk = true, true
  if not d or p.day > d then
    if pd then del[#del + 1] = 'r:' .. pd; del[#del + 1] = 't:' .. pd; del[#del + 1] = 'c:' .. pd end
    if d then a[#a + 1] = 'pd'; a[#a + 1] = d end
    a[#a + 1] = 'd'; a[#a + 1] = p.day
  elseif p.day ~= d and p.day ~= pd then
    dayOk = false
  end
  if not m or p.month > m then
    if pm then del[#del + 1] = 't:' .. pm; del[#del + 1] = 'c:' .. pm end
    if m then a[#a + 1] = 'pm'; a[#a + 1] = m end
    a[#a + 1] = 'm'; a[#a + 1] = p.month
  elseif p.month ~= m and p.month ~= pm then
    monthOk = false
  end
  if #del > 0 then redis.call('HDEL', ckey, unpack(del)) end
  return dayOk, monthOk
end
`;
