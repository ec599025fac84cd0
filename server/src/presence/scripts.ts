/** The Lua scripts of the Redis presence manager (presence/redis.ts). */

/*
 * Per room, two hashes:
 *   pc: connection id → "userId \t nodeId"       (one field per connection)
 *   pu: user id       → "count \t name"          (connections per user)
 * The scripts keep them consistent and publish the diff in the same atomic
 * step, so every replica sees one user's joins and leaves in order.
 * Names never contain a tab: the contract forbids control characters.
 */

/** KEYS: pc, pu. ARGV: connectionId, userId, name, nodeId, channel, diff payload, wantList. */
export const JOIN_SCRIPT = `
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\\t' .. ARGV[4]) == 1 then
  local entry = redis.call('HGET', KEYS[2], ARGV[2])
  if entry then
    local tab = string.find(entry, '\\t', 1, true)
    redis.call('HSET', KEYS[2], ARGV[2], (tonumber(string.sub(entry, 1, tab - 1)) + 1) .. string.sub(entry, tab))
  else
    redis.call('HSET', KEYS[2], ARGV[2], '1\\t' .. ARGV[3])
    redis.call('SPUBLISH', ARGV[5], ARGV[6])
  end
end
if ARGV[7] == '1' then return redis.call('HGETALL', KEYS[2]) end
return 0
`;

/**
 * Removes connections: either those listed (ARGV[4..]) or, when ARGV[3] names
 * a dead node, every connection of that node. Publishes one `left` diff with
 * the users whose last connection went. KEYS: pc, pu. ARGV: channel, room, deadNode, connectionIds...
 */
export const REMOVE_SCRIPT = `
local left = {}
local function remove(conn, value)
  redis.call('HDEL', KEYS[1], conn)
  local userId = string.sub(value, 1, string.find(value, '\\t', 1, true) - 1)
  local entry = redis.call('HGET', KEYS[2], userId)
  if not entry then return end
  local tab = string.find(entry, '\\t', 1, true)
  local count = tonumber(string.sub(entry, 1, tab - 1)) - 1
  if count > 0 then
    redis.call('HSET', KEYS[2], userId, count .. string.sub(entry, tab))
  else
    redis.call('HDEL', KEYS[2], userId)
    left[#left + 1] = '{"id":' .. cjson.encode(userId) .. ',"name":' .. cjson.encode(string.sub(entry, tab + 1)) .. '}'
  end
end
if ARGV[3] ~= '' then
  local all = redis.call('HGETALL', KEYS[1])
  local suffix = '\\t' .. ARGV[3]
  for i = 1, #all, 2 do
    local value = all[i + 1]
    if string.sub(value, -#suffix) == suffix then remove(all[i], value) end
  end
else
  for i = 4, #ARGV do
    local value = redis.call('HGET', KEYS[1], ARGV[i])
    if value then remove(ARGV[i], value) end
  end
end
if #left > 0 then
  redis.call('SPUBLISH', ARGV[1], 'e\\n{"type":"presence","room":"' .. ARGV[2] .. '","joined":[],"left":[' .. table.concat(left, ',') .. ']}')
end
return #left
`;

/** Heartbeat of a node, in Redis's clock so replicas' clock skew does not matter. KEYS: nodes. ARGV: nodeId. */
export const BEAT_SCRIPT = `
local t = redis.call('TIME')
return redis.call('HSET', KEYS[1], ARGV[1], t[1] * 1000 + math.floor(t[2] / 1000))
`;

/** Nodes whose last heartbeat is older than ARGV[1] ms, in Redis's clock. KEYS: nodes. */
export const DEAD_NODES_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local all = redis.call('HGETALL', KEYS[1])
local dead = {}
for i = 1, #all, 2 do
  if now - tonumber(all[i + 1]) > tonumber(ARGV[1]) then dead[#dead + 1] = all[i] end
end
return dead
`;
