package testenv

import (
	"fmt"
	"path/filepath"

	"github.com/bulwark-go/bulwark/internal/redisacl"
)

// RedisOperatorUser is the Redis user of the readiness probe and of tests
// that inspect budgets (see redisacl.OperatorUser).
const RedisOperatorUser = redisacl.OperatorUser

// RedisKeyPrefix starts every rate-limit key (see redisacl.KeyPrefix).
const RedisKeyPrefix = redisacl.KeyPrefix

// RedisUser names one Redis ACL login: the user name and the 0600 file
// that contains its password on one line.
type RedisUser struct{ Username, PasswordFile string }

// createRedisUsers writes the password files of the operator and of every
// service and returns the ACL lines of redis.conf. A service's password
// file is next to its AppRole credentials (Layout.ServiceDir).
func (e *Env) createRedisUsers(dir string) (string, error) {
	e.RedisUsername = RedisOperatorUser
	e.RedisPasswordFile = filepath.Join(dir, "password")
	operator, err := redisacl.EnsurePassword(e.RedisPasswordFile)
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	passwords := make(map[string]string, len(e.Services))
	e.RedisUsers = make(map[string]RedisUser, len(e.Services))
	for _, name := range e.Services {
		if err := redisacl.ValidateUser(name); err != nil {
			return "", fmt.Errorf("testenv: %w", err)
		}
		user := RedisUser{Username: name, PasswordFile: filepath.Join(e.Layout.ServiceDir(name), "redis-password")}
		if passwords[name], err = redisacl.EnsurePassword(user.PasswordFile); err != nil {
			return "", fmt.Errorf("testenv: %w", err)
		}
		e.RedisUsers[name] = user
	}
	rules, err := redisacl.Rules(operator, passwords, e.Services)
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	return rules, nil
}
