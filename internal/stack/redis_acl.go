package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// redisOperatorUser is the Redis ACL user of the readiness probe and of an
// operator who inspects budgets. It may run PING and INFO, and read keys
// under redisKeyPrefix with GET, PTTL and SCAN, but it cannot write or
// delete.
const redisOperatorUser = "operator"

// redisKeyPrefix starts every rate-limit key. Each service's keys are
// under redisKeyPrefix + name + ":", the default of store.redis.prefix
// (redisstore.DefaultPrefix plus the service name).
const redisKeyPrefix = "bulwark:ratelimit:"

// redisServiceCommands are the only commands a service's Redis user may
// run. The rate-limit store runs its GCRA script with EVALSHA, and with
// EVAL when Redis does not have the script cached yet. Redis checks the
// script's own calls (TIME, GET, SET) against the same user. HELLO and
// AUTH need no grant because Redis runs them before authentication.
var redisServiceCommands = []string{"evalsha", "eval", "time", "get", "set"}

// redisOperatorCommands are the commands of redisOperatorUser.
var redisOperatorCommands = []string{"ping", "info", "scan", "get", "pttl"}

// redisUserName matches the service names that are safe inside an ACL
// rule and a key pattern: no spaces and no glob characters.
var redisUserName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// redisServicePassword returns the file containing the Redis password of
// a service's ACL user, next to its AppRole credentials.
func (s *stack) redisServicePassword(name string) string {
	return filepath.Join(s.layout.ServiceDir(name), "redis-password")
}

// redisACL returns the ACL lines of redis.conf. The default user is off,
// so every client must log in as a named user. Each service's user may run
// only redisServiceCommands, and only on keys under its own prefix, so a
// compromised service cannot spend, read or delete another service's
// budgets, nor run FLUSHALL, CONFIG, SHUTDOWN or DEBUG. Passwords appear
// only as SHA-256 hashes. passwords maps each name in names to its
// password.
//
// NOTE: tools/stack/compose.sh and internal/testenv/redis_acl.go write the
// same rules; change all three together.
func redisACL(operatorPassword string, passwords map[string]string, names []string) (string, error) {
	var b strings.Builder
	b.WriteString("user default off resetpass nocommands resetkeys resetchannels\n")
	fmt.Fprintf(&b, "user %s on #%s resetchannels resetkeys ~%s* -@all +%s\n",
		redisOperatorUser, sha256Hex(operatorPassword), redisKeyPrefix, strings.Join(redisOperatorCommands, " +"))
	for _, name := range names {
		if !redisUserName.MatchString(name) || name == redisOperatorUser || name == "default" {
			return "", fmt.Errorf("stack: service name %q cannot be a Redis ACL user; use lowercase letters, "+
				"digits and hyphens, and neither %q nor %q", name, redisOperatorUser, "default")
		}
		fmt.Fprintf(&b, "user %s on #%s resetchannels resetkeys ~%s%s:* -@all +%s\n",
			name, sha256Hex(passwords[name]), redisKeyPrefix, name, strings.Join(redisServiceCommands, " +"))
	}
	return b.String(), nil
}

func sha256Hex(password string) string {
	sum := sha256.Sum256([]byte(password))
	return hex.EncodeToString(sum[:])
}
