package testenv

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// RedisOperatorUser is the Redis ACL user of the readiness probe and of
// tests that inspect budgets. It may run PING and INFO, and read keys under
// RedisKeyPrefix with GET, PTTL and SCAN, but it cannot write or delete.
const RedisOperatorUser = "operator"

// RedisKeyPrefix starts every rate-limit key. Each service's keys are
// under RedisKeyPrefix + name + ":", the default of store.redis.prefix
// (redisstore.DefaultPrefix plus the service name).
const RedisKeyPrefix = "bulwark:ratelimit:"

// redisServiceCommands are the only commands a service's Redis user may
// run. The rate-limit store runs its GCRA script with EVALSHA, and with
// EVAL when Redis does not have the script cached yet. Redis checks the
// script's own calls (TIME, GET, SET) against the same user. HELLO and
// AUTH need no grant because Redis runs them before authentication.
var redisServiceCommands = []string{"evalsha", "eval", "time", "get", "set"}

// redisOperatorCommands are the commands of RedisOperatorUser.
var redisOperatorCommands = []string{"ping", "info", "scan", "get", "pttl"}

// RedisUser names one Redis ACL login: the user name and the 0600 file
// that contains its password on one line.
type RedisUser struct{ Username, PasswordFile string }

// redisUserName matches the service names that are safe inside an ACL
// rule and a key pattern: no spaces and no glob characters.
var redisUserName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// redisACL returns the ACL lines of redis.conf. The default user is off,
// so every client must log in as a named user. Each service's user may run
// only redisServiceCommands, and only on keys under its own prefix, so a
// compromised service cannot spend, read or delete another service's
// budgets, nor run FLUSHALL, CONFIG, SHUTDOWN or DEBUG. Passwords appear
// only as SHA-256 hashes. services maps each name in names to its
// password.
//
// NOTE: internal/stack/redis_acl.go and tools/stack/compose.sh write the
// same rules; change all three together.
func redisACL(operatorPassword string, services map[string]string, names []string) string {
	var b strings.Builder
	b.WriteString("user default off resetpass nocommands resetkeys resetchannels\n")
	fmt.Fprintf(&b, "user %s on #%s resetchannels resetkeys ~%s* -@all +%s\n",
		RedisOperatorUser, sha256Hex(operatorPassword), RedisKeyPrefix, strings.Join(redisOperatorCommands, " +"))
	for _, name := range names {
		fmt.Fprintf(&b, "user %s on #%s resetchannels resetkeys ~%s%s:* -@all +%s\n",
			name, sha256Hex(services[name]), RedisKeyPrefix, name, strings.Join(redisServiceCommands, " +"))
	}
	return b.String()
}

func sha256Hex(password string) string {
	sum := sha256.Sum256([]byte(password))
	return hex.EncodeToString(sum[:])
}

// writeRedisPassword writes a new random password to path (mode 0600) and
// returns it.
func writeRedisPassword(path string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("testenv: generate Redis password: %w", err)
	}
	password := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	return password, nil
}

// createRedisUsers writes the password files of the operator and of every
// service and returns the ACL lines of redis.conf. A service's password
// file is next to its AppRole credentials (Layout.ServiceDir).
func (e *Env) createRedisUsers(dir string) (string, error) {
	e.RedisUsername = RedisOperatorUser
	e.RedisPasswordFile = filepath.Join(dir, "password")
	operator, err := writeRedisPassword(e.RedisPasswordFile)
	if err != nil {
		return "", err
	}
	passwords := make(map[string]string, len(e.Services))
	e.RedisUsers = make(map[string]RedisUser, len(e.Services))
	for _, name := range e.Services {
		if !redisUserName.MatchString(name) || name == RedisOperatorUser || name == "default" {
			return "", fmt.Errorf("testenv: service name %q cannot be a Redis ACL user; use lowercase letters, "+
				"digits and hyphens, and neither %q nor %q", name, RedisOperatorUser, "default")
		}
		user := RedisUser{Username: name, PasswordFile: filepath.Join(e.Layout.ServiceDir(name), "redis-password")}
		if passwords[name], err = writeRedisPassword(user.PasswordFile); err != nil {
			return "", err
		}
		e.RedisUsers[name] = user
	}
	return redisACL(operator, passwords, e.Services), nil
}
