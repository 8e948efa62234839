package redisstore

import "github.com/redis/go-redis/v9"

// Each script touches keys of one hash tag only, so it runs on Cluster. Times are unix ms:
// Lua numbers are doubles, exact for ms but not for ns.

// seenLua is the body shared by scripts that move a last-seen time forward:
// KEYS[ls] ARGV[ms, ttlms] at positions given by the caller.
const seenLua = `
local function seen(key, t, ttl)
  local cur = tonumber(redis.call('GET', key) or '0')
  if tonumber(t) > cur then
    redis.call('SET', key, t, 'PX', ttl)
  else
    redis.call('PEXPIRE', key, ttl)
  end
end
`

// userAdd: KEYS[1]=u KEYS[2]=ls ARGV[1]=conn ARGV[2]=ms ARGV[3]=ttl.
var userAdd = redis.NewScript(seenLua + `
redis.call('SADD', KEYS[1], ARGV[1])
seen(KEYS[2], ARGV[2], ARGV[3])
return 1`)

// userRemove: like userAdd; returns the user's remaining connections.
var userRemove = redis.NewScript(seenLua + `
redis.call('SREM', KEYS[1], ARGV[1])
seen(KEYS[2], ARGV[2], ARGV[3])
return redis.call('SCARD', KEYS[1])`)

// userSeen: KEYS[1]=ls ARGV[1]=ms ARGV[2]=ttl.
var userSeen = redis.NewScript(seenLua + `
seen(KEYS[1], ARGV[1], ARGV[2])
return 1`)

// touchConn: KEYS[1]=c ARGV[1]=ms. Moves "la" forward if the record exists (never recreating
// a closed connection) and returns its user id ("" for none), or false if it is gone.
var touchConn = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local cur = tonumber(redis.call('HGET', KEYS[1], 'la') or '0')
if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'la', ARGV[1]) end
return redis.call('HGET', KEYS[1], 'u') or ''`)

// join: KEYS[1]=c KEYS[2]=cg ARGV[1]=group. 0 if the connection is unknown.
var join = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
return 1`)

// claim: KEYS[1]=nl KEYS[2]=nc KEYS[3]=nr ARGV[1]=claimant ARGV[2]=ttl ARGV[3]=reaped ttl.
// 1 if ARGV[1] holds the claim now. A new claim also writes the record Reaped reads.
var claim = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local cur = redis.call('GET', KEYS[2])
if not cur then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
  return 1
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0`)
