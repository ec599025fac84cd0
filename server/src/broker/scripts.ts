/**
 * The broker's Lua scripts. Each touches the keys of one room only (its
 * `{room}` hash tag: one Redis Cluster slot), and publishes with SPUBLISH on
 * the room's channel, which is in the same slot.
 */

/**
 * Stores the message in the room's stream and publishes the finished frame in
 * one atomic step, so the stream id is the message id and pub/sub order is id
 * order. Trims in batches and remembers the newest trimmed id, which is what
 * `joined.truncated` is computed from.
 *
 * Idempotent by the send's key: a key seen within ARGV[8] ms returns the
 * message stored then (id, its stored body, 1) and stores and publishes
 * nothing. The key is written in the same step, so it reaches a Redis
 * replica with the message or not at all.
 *
 * The first write of a log names its epoch (unless a join already did).
 * Every write refreshes the idle expiry of the room's keys (ARGV[6] ms; 0: never).
 *
 * KEYS: log, trimmed, meta, members, names, epoch, sent-key.
 * ARGV: channel, body, frame head, maxLen, slack, idle ttl, new epoch, dedupe ttl.
 * Returns { id, stored body or '', duplicate 0|1 }.
 */
export const PUBLISH_SCRIPT = `
local seen = redis.call('GET', KEYS[7])
if seen then
  local entry = redis.call('XRANGE', KEYS[1], seen, seen)
  local body = ''
  if entry[1] then body = entry[1][2][2] end
  return { seen, body, 1 }
end
local id = redis.call('XADD', KEYS[1], '*', 'b', ARGV[2])
redis.call('SET', KEYS[7], id, 'PX', ARGV[8])
if redis.call('EXISTS', KEYS[6]) == 0 then redis.call('SET', KEYS[6], ARGV[7]) end
if ARGV[6] ~= '0' then
  for i = 1, 6 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
end
local ms = string.sub(id, 1, string.find(id, '-', 1, true) - 1)
redis.call('SPUBLISH', ARGV[1], 'm' .. id .. '\\n' .. ARGV[3] .. id .. '","ts":' .. ms .. ',' .. ARGV[2])
local max = tonumber(ARGV[4])
local len = redis.call('XLEN', KEYS[1])
if len > max + tonumber(ARGV[5]) then
  local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - max + 1)
  redis.call('XTRIM', KEYS[1], 'MINID', old[len - max + 1][1])
  redis.call('SET', KEYS[2], old[len - max][1])
end
return { id, '', 0 }
`;

/**
 * What a join needs, read in one step: the log's epoch (named now, with a
 * short expiry, if nothing has written the log yet), the newest trimmed id,
 * the newest id held, and the replay: every entry in the range from ARGV[1]
 * (an exclusive start like "(1700000000000-3"), or the newest ARGV[2]
 * entries when ARGV[1] is empty.
 *
 * KEYS: log, trimmed, epoch. ARGV: start, limit, new epoch, epoch ttl.
 * Returns { epoch, trimmed or '', newest or '', entries }.
 */
export const REPLAY_SCRIPT = `
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[3], epoch, 'PX', ARGV[4])
end
local trimmed = redis.call('GET', KEYS[2]) or ''
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local newest = ''
if last[1] then newest = last[1][1] end
local entries
if ARGV[1] == '' then
  entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[2])
  local n = #entries
  for i = 1, math.floor(n / 2) do entries[i], entries[n - i + 1] = entries[n - i + 1], entries[i] end
else
  entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+')
end
return { epoch, trimmed, newest, entries }
`;

/**
 * After a subscription lapsed (a failover): does the log still hold the
 * newest entry this replica saw? If not, and it was not trimmed, the log
 * lost entries (the new master lacked the latest writes): name a new epoch,
 * so that every client resuming with the old one is told `truncated`. The
 * `lost` key remembers the loss, so the replicas that notice it after the
 * first do not rename the epoch again.
 *
 * KEYS: log, trimmed, epoch, lost. ARGV: newest id seen, new epoch, ttl (0: none).
 * Returns 1 when it renamed the epoch.
 */
export const CHECK_LOG_SCRIPT = `
local function older(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
if redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1] then return 0 end
local trimmed = redis.call('GET', KEYS[2])
if trimmed and not older(trimmed, ARGV[1]) then return 0 end
local lost = redis.call('GET', KEYS[4])
if lost and not older(lost, ARGV[1]) then return 0 end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SET', KEYS[4], ARGV[1])
if ARGV[3] ~= '0' then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  redis.call('PEXPIRE', KEYS[4], ARGV[3])
end
return 1
`;
