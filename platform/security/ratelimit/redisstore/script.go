package redisstore

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// gcraScript decides one request with GCRA on Redis's own clock, so that
// instances whose clocks disagree still share one budget. Times are in
// microseconds, which a Lua number (a double) holds exactly for centuries.
// The TAT is stored with %.0f because Lua would format a large number in
// exponent notation and lose digits. The key expires when its whole burst
// is back, when it would decide like a missing key anyway.
//
// KEYS[1]: the budget's key.
// ARGV[1]: emission interval; ARGV[2]: burst window; ARGV[3]: maximum wait.
// Returns {admitted (1 or 0), wait, TAT minus now after the decision}.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local next_tat = tat + interval
local wait = next_tat - window - now
if wait > max_wait then
  return {0, wait, tat - now}
end
local ttl_ms = math.ceil((next_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', ttl_ms)
return {1, wait, next_tat - now}
`)

// redisKey encodes a budget key so that no two (Scope, Subject) pairs
// share one: the scope's length comes first, so a colon inside the scope
// cannot move the boundary.
func redisKey(prefix, scope, subject string) string {
	return prefix + strconv.Itoa(len(scope)) + ":" + scope + ":" + subject
}
