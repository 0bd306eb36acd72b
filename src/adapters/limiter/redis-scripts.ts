// The Lua scripts of the Redis send limiter. Each runs atomically in Redis, so concurrent workers in
// any number of processes see one consistent state. They do the same arithmetic, in the same order,
// as adapters/limiter/memory.ts (doubles in both; stored with %.17g so nothing is rounded away).
// Time is the caller's `now`; stored times never move backwards (see ports/send-limiter.ts).
// PEXPIRE is only garbage collection and only ever lengthens a key's life (a short lease must not
// cut short a long one held in the same key).

const EXTEND_TTL = `
local function extend(key, ms)
  ms = math.ceil(ms)
  if ms < 1 then ms = 1 end
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
local function num(x) return string.format('%.17g', x) end
-- Rates like 2/s after 499 ms leave 0.998 tokens and (1 - 0.998) * 1000 / 2 = 1.0000000000000009:
-- a tolerance far below one message keeps float noise from costing a whole millisecond or token.
local EPSILON = 1e-9
`;

/**
 * Token buckets, all or nothing. KEYS: the buckets (hashes {tokens, at}). ARGV: now, margin, then
 * perSecond and burst per bucket. Returns {1, 0} when a token was taken from each, else {0, wait ms}.
 */
export const TAKE = `${EXTEND_TTL}
local now = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])
local tokens, stamps = {}, {}
local wait = 0
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i * 2 + 1])
  local burst = tonumber(ARGV[i * 2 + 2])
  local saved = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local t, at = tonumber(saved[1]), tonumber(saved[2])
  if t == nil or at == nil then t, at = burst, now end
  if now > at then
    t = t + (now - at) * rate / 1000
    at = now
  end
  if t > burst then t = burst end
  tokens[i], stamps[i] = t, at
  if t < 1 - EPSILON then
    local w = math.ceil((1 - t) * 1000 / rate - EPSILON)
    if w < 1 then w = 1 end
    if w > wait then wait = w end
  end
end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i * 2 + 1])
  local burst = tonumber(ARGV[i * 2 + 2])
  local t = tokens[i]
  if wait == 0 then t = t - 1 end
  redis.call('HSET', KEYS[i], 'tokens', num(t), 'at', num(stamps[i]))
  extend(KEYS[i], (burst - t) * 1000 / rate + margin)
end
if wait == 0 then return {1, 0} end
return {0, wait}
`;

/**
 * A leased slot. KEYS[1]: sorted set holder → lease end. ARGV: now, max, holder, leaseMs, margin.
 * Drops ended leases, renews the holder's own, or adds it when fewer than max are held. Returns 1 or 0.
 */
export const ACQUIRE_SLOT = `${EXTEND_TTL}
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local holder = ARGV[3]
local lease = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(now))
if not redis.call('ZSCORE', KEYS[1], holder) and redis.call('ZCARD', KEYS[1]) >= max then return 0 end
redis.call('ZADD', KEYS[1], num(now + lease), holder)
extend(KEYS[1], lease + tonumber(ARGV[5]))
return 1
`;

/**
 * A capped counter. KEYS[1]: hash {n, exp}. ARGV: now, cap, expiresAt, margin. A counter whose exp
 * has passed counts from zero. Returns {1, used} when it counted, {0, used} at the cap.
 */
export const COUNT_IF_BELOW = `${EXTEND_TTL}
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local exp = tonumber(ARGV[3])
local saved = redis.call('HMGET', KEYS[1], 'n', 'exp')
local n = tonumber(saved[1]) or 0
local oldExp = tonumber(saved[2])
if oldExp ~= nil and now >= oldExp then n = 0 end
if n >= cap then return {0, n} end
n = n + 1
redis.call('HSET', KEYS[1], 'n', n, 'exp', num(exp))
extend(KEYS[1], exp - now + tonumber(ARGV[4]))
return {1, n}
`;

/** Gives one back. KEYS[1]: the counter hash. Never below zero; a missing counter stays missing. */
export const UNCOUNT = `
local n = tonumber(redis.call('HGET', KEYS[1], 'n'))
if n ~= nil and n > 0 then redis.call('HINCRBY', KEYS[1], 'n', -1) end
return 0
`;
