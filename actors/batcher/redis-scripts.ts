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

/** KEYS: pending. -> {count, firstAt, lastAt} */
export const PENDING = `
local n = redis.call('LLEN', KEYS[1])
if n == 0 then return {0, '0', '0'} end
local first = cjson.decode(redis.call('LINDEX', KEYS[1], 0))[3]
local last = cjson.decode(redis.call('LINDEX', KEYS[1], -1))[3]
return {n, tostring(first), tostring(last)}
`;

/**
 * The ordering rule of ordering.ts, as Lua shared by the scripts that cut, settle and retry
 * batches. A conversation's in-flight batch ids wait in cut order in a LIST (`<prefix>order:
 * <sessionId>:<phone>`); its head alone is in the `heads` sorted set, scored by the time its
 * lease ends (a released head by the time it was cut), which is what claims read. The list
 * and the next batch's hash are named from the batch's fields, not passed as KEYS: a
 * standalone Redis allows it (the store does not support Redis Cluster).
 */
const ORDER = `
local function orderKey(orderPrefix, sessionId, phone)
  return orderPrefix .. sessionId .. ':' .. phone
end
-- Ids whose hash is gone (deleted by hand; in-flight hashes have no TTL) never block the
-- queue: they are dropped, and a live batch that comes to the front is made a head,
-- claimable at once, so nothing behind a lost batch waits for ever.
local function firstLive(queue, inflightPrefix, heads)
  local id = redis.call('LINDEX', queue, 0)
  local dropped = false
  while id and redis.call('EXISTS', inflightPrefix .. id) == 0 do
    redis.call('LPOP', queue)
    dropped = true
    id = redis.call('LINDEX', queue, 0)
  end
  if id and dropped and not redis.call('ZSCORE', heads, id) then
    redis.call('HSET', inflightPrefix .. id, 'owner', '', 'leaseUntil', '0')
    redis.call('ZADD', heads, redis.call('HGET', inflightPrefix .. id, 'flushedAt'), id)
  end
  return id
end
-- The conversation's head, if the caller holds its lease (an ack repeated after a lost reply).
local function headHeldBy(queue, inflightPrefix, heads, owner)
  local id = firstLive(queue, inflightPrefix, heads)
  if id and redis.call('HGET', inflightPrefix .. id, 'owner') == owner then return id end
  return false
end
local function lease(heads, inflightPrefix, id, owner, leaseUntil)
  redis.call('HSET', inflightPrefix .. id, 'owner', owner, 'leaseUntil', leaseUntil)
  redis.call('ZADD', heads, leaseUntil, id)
end
-- Takes a settled batch out of its conversation's queue; if it was the head, leases the next
-- one to the settling runtime and returns its id.
local function unlink(heads, queue, inflightPrefix, id, owner, leaseUntil)
  redis.call('ZREM', heads, id)
  local head = redis.call('LINDEX', queue, 0)
  redis.call('LREM', queue, 1, id)
  if head ~= id then return false end
  local nextId = firstLive(queue, inflightPrefix, heads)
  if not nextId then return false end
  lease(heads, inflightPrefix, nextId, owner, leaseUntil)
  return nextId
end
local function withFields(flag, inflightPrefix, id)
  local entry = redis.call('HGETALL', inflightPrefix .. id)
  table.insert(entry, 1, id)
  table.insert(entry, 1, flag)
  return entry
end
`;

/**
 * The flush rule of flush-rule.ts, applied and acted on atomically: size, then age, then
 * quiet; if due, the first maxMessages entries move into a new in-flight hash, which joins
 * the conversation's queue and is leased to `owner` only if it is the queue's head.
 * KEYS: pending, inflight, order queue, heads. ARGV: now, windowMs, maxMessages, maxAgeMs,
 * force ('' | reason), sessionId, phone, owner, leaseUntil, ttlSeconds, batchId, inflightPrefix.
 * -> {'empty'} | {'not_due', dueAt, count, firstAt, lastAt}
 *  | {'flushed', reason, firstAt, lastAt, messagesJson, remaining, remainingFirstAt, lastAt, deliverable}
 */
export const FLUSH = ORDER + `
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
  'owner', '', 'leaseUntil', '0')
-- No TTL: an in-flight batch leaves only by ack or dead letter (its queue and the batches
-- behind it depend on it). The pending list's TTL is the only safety net for garbage.
local ahead = firstLive(KEYS[3], ARGV[12], KEYS[4])
redis.call('RPUSH', KEYS[3], ARGV[11])
local deliverable = 0
if not ahead then
  lease(KEYS[4], ARGV[12], ARGV[11], ARGV[8], ARGV[9])
  deliverable = 1
end
local remaining = n - take
local remainingFirst = '0'
if remaining > 0 then remainingFirst = tostring(cjson.decode(redis.call('LINDEX', KEYS[1], 0))[3]) end
return {'flushed', reason, tostring(first), tostring(batchLast), messages, remaining, remainingFirst, tostring(last), deliverable}
`;

/**
 * Claimable heads (released, or their lease ran out), oldest first, then (includeOwn) the
 * heads this owner holds, all leased to it. KEYS: heads. ARGV: inflightPrefix, owner, now,
 * leaseUntil, limit, includeOwn ('1' | '0'). -> {{batchId, fields...}, ...}
 */
export const CLAIM = ORDER + `
local out = {}
local taken = {}
local limit = tonumber(ARGV[5])
local function take(id)
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], id)
    return
  end
  lease(KEYS[1], ARGV[1], id, ARGV[2], ARGV[4])
  taken[id] = true
  local entry = redis.call('HGETALL', key)
  table.insert(entry, 1, id)
  out[#out + 1] = entry
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, limit)) do take(id) end
if ARGV[6] == '1' then
  -- Live leases are few (what the pipelines have room for): walking them is bounded.
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[3], '+inf')) do
    if #out >= limit then break end
    if not taken[id] and redis.call('HGET', ARGV[1] .. id, 'owner') == ARGV[2] then take(id) end
  end
end
return out
`;

/** KEYS: inflight, heads. ARGV: owner, leaseUntil, batchId. -> 1 if renewed */
export const RENEW = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'leaseUntil', ARGV[2])
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[3])
return 1
`;

/** A released head is claimable at once, in cut order. KEYS: inflight, heads. ARGV: owner, batchId. -> 1 if released */
export const RELEASE = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', '', 'leaseUntil', '0')
redis.call('ZADD', KEYS[2], 'XX', redis.call('HGET', KEYS[1], 'flushedAt'), ARGV[2])
return 1
`;

/**
 * Acks, one or many (the batches of one burst). KEYS: heads. ARGV: inflightPrefix,
 * orderPrefix, owner, leaseUntil, then batchId, sessionId, phone per batch. -> per batch
 * {deleted (1|0), next batch id or '', its fields...}; a batch already gone answers the
 * conversation's head if the caller holds it (the first ack went through, its reply did not).
 */
export const ACK = ORDER + `
local out = {}
for i = 5, #ARGV, 3 do
  local id = ARGV[i]
  local key = ARGV[1] .. id
  local queue = orderKey(ARGV[2], ARGV[i + 1], ARGV[i + 2])
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], id)
    local held = headHeldBy(queue, ARGV[1], KEYS[1], ARGV[3])
    if held then out[#out + 1] = withFields(0, ARGV[1], held) else out[#out + 1] = {0, ''} end
  else
    redis.call('DEL', key)
    local nextId = unlink(KEYS[1], queue, ARGV[1], id, ARGV[3], ARGV[4])
    if nextId then out[#out + 1] = withFields(1, ARGV[1], nextId) else out[#out + 1] = {1, ''} end
  end
end
return out
`;

/**
 * Never dropped: the dead letter has no TTL, and its id joins the dead-letter index (a set,
 * so counting and listing never walk the keyspace); the conversation's next batch is leased to
 * the caller. Only the lease's holder may: a runtime whose lease ran out leaves the batch to
 * the one delivering it now. KEYS: inflight, dead, index, heads. ARGV: error, at, batchId,
 * inflightPrefix, orderPrefix, owner, leaseUntil, sessionId, phone.
 * -> {moved (1|0), next batch id or '', its fields...}
 */
export const DEAD_LETTER = ORDER + `
local queue = orderKey(ARGV[5], ARGV[8], ARGV[9])
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[6] then
  local held = headHeldBy(queue, ARGV[4], KEYS[4], ARGV[6])
  if held then return withFields(0, ARGV[4], held) end
  return {0, ''}
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'error', ARGV[1], 'deadAt', ARGV[2], 'owner', '', 'leaseUntil', '0')
redis.call('SADD', KEYS[3], ARGV[3])
local nextId = unlink(KEYS[4], queue, ARGV[4], ARGV[3], ARGV[6], ARGV[7])
if not nextId then return {1, ''} end
return withFields(1, ARGV[4], nextId)
`;

/**
 * An operator's retry: the dead letter goes back in flight at the end of its conversation's
 * queue, leased to `owner` only if it is the head.
 * KEYS: dead, inflight, index, heads. ARGV: batchId, owner, leaseUntil, ttlSeconds,
 * inflightPrefix, orderPrefix. -> nil, or {deliverable (1|0), the batch's fields...}
 */
export const RETRY_DEAD = ORDER + `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
  return nil
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[2], 'error', 'deadAt')
redis.call('HSET', KEYS[2], 'owner', '', 'leaseUntil', '0')
redis.call('SREM', KEYS[3], ARGV[1])
local fields = redis.call('HMGET', KEYS[2], 'sessionId', 'phone')
local queue = orderKey(ARGV[6], fields[1], fields[2])
local ahead = firstLive(queue, ARGV[5], KEYS[4])
redis.call('RPUSH', queue, ARGV[1])
local deliverable = 0
if not ahead then
  lease(KEYS[4], ARGV[5], ARGV[1], ARGV[2], ARGV[3])
  deliverable = 1
end
local entry = redis.call('HGETALL', KEYS[2])
table.insert(entry, 1, deliverable)
return entry
`;

/**
 * In-flight batches cut before the ordering rule existed join their conversation's queue
 * (once per Redis: the caller keeps a marker). KEYS: inflight, heads. ARGV: batchId,
 * inflightPrefix, orderPrefix.
 */
export const ADOPT = ORDER + `
local fields = redis.call('HMGET', KEYS[1], 'sessionId', 'phone', 'owner', 'leaseUntil')
if not fields[1] then return 0 end
local queue = orderKey(ARGV[3], fields[1], fields[2])
local ahead = firstLive(queue, ARGV[2], KEYS[2])
for _, id in ipairs(redis.call('LRANGE', queue, 0, -1)) do
  if id == ARGV[1] then return 0 end
end
redis.call('RPUSH', queue, ARGV[1])
if not ahead then redis.call('ZADD', KEYS[2], tonumber(fields[4]) or 0, ARGV[1]) end
return 1
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
