package stack

import (
	"path/filepath"

	"github.com/bulwark-go/bulwark/internal/redisacl"
)

// redisOperatorUser is the Redis user of the readiness probe and of an
// operator who inspects budgets (see redisacl.OperatorUser).
const redisOperatorUser = redisacl.OperatorUser

// redisKeyPrefix starts every rate-limit key (see redisacl.KeyPrefix).
const redisKeyPrefix = redisacl.KeyPrefix

// redisServicePassword returns the file containing the Redis password of
// a service's ACL user, next to its AppRole credentials.
func (s *stack) redisServicePassword(name string) string {
	return filepath.Join(s.layout.ServiceDir(name), "redis-password")
}
