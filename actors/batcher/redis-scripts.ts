/**
 * The Redis store's atomic steps. Each is one Lua script, so concurrent runtimes on one
 * Redis interleave only between steps, never inside one. Pending messages are a LIST of
 * JSON `[id, text, at]` entries (kept verbatim into the batch), so appends never re-encode.
 * Times are epoch ms passed in by the caller (the runtime's clock decides, not Redis').
 */

/** KEYS: pending, seen. ARGV: id, entry, at, ttlSeconds. -> {accepted(1|0), count, firstAt, lastAt} */
export const APPEND = `
local function summary(n)
  if n == 0 then return {0, '0', '0'} end
  local first = cjson.decode(redis.call('LINDEX', KEYS[1], 0))[3]
  local last = cjson.decode(redis.call('LINDEX', KEYS[1], -1))[3]
  return {n, tostring(first), tostring(last)}
end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  local s = summary(redis.call('LLEN', KEYS[1]))
  return {0, s[1], s[2], s[3]}
end
redis.call('EXPIRE', KEYS[2], ARGV[4])
local n = redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
-- The entry just pushed is the last one, and with n == 1 the first: no need to read it back.
local first = ARGV[3]
if n > 1 then first = tostring(cjson.decode(redis.call('LINDEX', KEYS[1], 0))[3]) end
return {1, n, first, ARGV[3]}
`;

/**
 * APPEND for several messages in one call (the appends of one burst: many clients writing
 * at once), each exactly as APPEND would do it, in the order given. KEYS: pending and seen
 * of each message in turn. ARGV: ttlSeconds, then id, entry, at of each message in turn.
 * -> APPEND's four values per message, one flat list.
 */
export const APPEND_MANY = `
local ttl = ARGV[1]
local out = {}
for i = 1, #KEYS / 2 do
  local pending = KEYS[2 * i - 1]
  local seen = KEYS[2 * i]
  local id = ARGV[3 * i - 1]
  local entry = ARGV[3 * i]
  local at = ARGV[3 * i + 1]
  if redis.call('SADD', seen, id) == 0 then
    local n = redis.call('LLEN', pending)
    if n == 0 then
      out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = '0'; out[#out + 1] = '0'
    else
      out[#out + 1] = 0
      out[#out + 1] = n
      out[#out + 1] = tostring(cjson.decode(redis.call('LINDEX', pending, 0))[3])
      out[#out + 1] = tostring(cjson.decode(redis.call('LINDEX', pending, -1))[3])
    end
  else
    redis.call('EXPIRE', seen, ttl)
    local n = redis.call('RPUSH', pending, entry)
    redis.call('EXPIRE', pending, ttl)
    local first = at
    if n > 1 then first = tostring(cjson.decode(redis.call('LINDEX', pending, 0))[3]) end
    out[#out + 1] = 1; out[#out + 1] = n; out[#out + 1] = first; out[#out + 1] = at
  end
end
return out
`;

/** The acks of one burst in one call. KEYS: in-flight batches. -> per key, 1 if it was deleted. */
export const ACK_MANY = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call('DEL', KEYS[i]) end
return out
`;

/** KEYS: pending. -> {count, firstAt, lastAt} */
export const PENDING = `
local n = redis.call('LLEN', KEYS[1])
if n == 0 then return {0, '0', '0'} end
local first = cjson.decode(redis.call('LINDEX', KEYS[1], 0))[3]
local last = cjson.decode(redis.call('LINDEX', KEYS[1], -1))[3]
return {n, tostring(first), tostring(last)}
`;

/**
 * The flush rule of flush-rule.ts, applied and acted on atomically: size, then age, then
 * quiet; if due, the first maxMessages entries move into a new in-flight hash.
 * KEYS: pending, inflight. ARGV: now, windowMs, maxMessages, maxAgeMs, force ('' | reason),
 * sessionId, phone, owner, leaseUntil, ttlSeconds.
 * -> {'empty'} | {'not_due', dueAt, count, firstAt, lastAt}
 *  | {'flushed', reason, firstAt, lastAt, messagesJson, remaining, remainingFirstAt, lastAt}
 */
export const FLUSH = `
local n = redis.call('LLEN', KEYS[1])
if n == 0 then return {'empty'} end
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local maxAge = tonumber(ARGV[4])
local first = cjson.decode(redis.call('LINDEX', KEYS[1], 0))[3]
local last = cjson.decode(redis.call('LINDEX', KEYS[1], -1))[3]
local reason = ARGV[5]
if reason == '' then
  if n >= max then reason = 'size'
  elseif now >= first + maxAge then reason = 'age'
  elseif now >= last + window then reason = 'quiet'
  else
    return {'not_due', tostring(math.min(last + window, first + maxAge)), n, tostring(first), tostring(last)}
  end
end
local take = math.min(n, max)
local items = redis.call('LRANGE', KEYS[1], 0, take - 1)
redis.call('LTRIM', KEYS[1], take, -1)
local batchLast = cjson.decode(items[take])[3]
local messages = '[' .. table.concat(items, ',') .. ']'
redis.call('HSET', KEYS[2],
  'sessionId', ARGV[6], 'phone', ARGV[7], 'messages', messages, 'reason', reason,
  'firstAt', tostring(first), 'lastAt', tostring(batchLast), 'flushedAt', ARGV[1],
  'owner', ARGV[8], 'leaseUntil', ARGV[9])
redis.call('EXPIRE', KEYS[2], ARGV[10])
local remaining = n - take
local remainingFirst = '0'
if remaining > 0 then remainingFirst = tostring(cjson.decode(redis.call('LINDEX', KEYS[1], 0))[3]) end
return {'flushed', reason, tostring(first), tostring(batchLast), messages, remaining, remainingFirst, tostring(last)}
`;

/**
 * KEYS: inflight. ARGV: owner, now, leaseUntil, includeOwn ('1' | '0').
 * -> nil, or the hash's fields as a flat list, now leased to owner.
 */
export const CLAIM = `
local fields = redis.call('HMGET', KEYS[1], 'owner', 'leaseUntil')
if not fields[1] then return nil end
local mine = ARGV[4] == '1' and fields[1] == ARGV[1]
if not mine and tonumber(fields[2]) > tonumber(ARGV[2]) then return nil end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'leaseUntil', ARGV[3])
return redis.call('HGETALL', KEYS[1])
`;

/** KEYS: inflight. ARGV: owner, leaseUntil. -> 1 if renewed */
export const RENEW = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'leaseUntil', ARGV[2])
return 1
`;

/**
 * Never dropped: the dead letter has no TTL, and its id joins the dead-letter index (a set,
 * so counting and listing never walk the keyspace). KEYS: inflight, dead, index.
 * ARGV: error, at, batchId. -> 1 if moved
 */
export const DEAD_LETTER = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('PERSIST', KEYS[2])
redis.call('HSET', KEYS[2], 'error', ARGV[1], 'deadAt', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return 1
`;

/**
 * An operator's retry: the dead letter goes back in flight, leased to the runtime that will
 * deliver it, with its safety-net TTL again. KEYS: dead, inflight, index.
 * ARGV: batchId, owner, leaseUntil, ttlSeconds. -> nil, or the batch's fields as a flat list
 */
export const RETRY_DEAD = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
  return nil
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[2], 'error', 'deadAt')
redis.call('HSET', KEYS[2], 'owner', ARGV[2], 'leaseUntil', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('SREM', KEYS[3], ARGV[1])
return redis.call('HGETALL', KEYS[2])
`;

/** An operator's drop. KEYS: dead, index. ARGV: batchId. -> 1 if there was one */
export const DROP_DEAD = `
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
`;

/** KEYS: pending. -> the number of messages dropped */
export const DROP = `
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
`;
