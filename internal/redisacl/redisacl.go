// Package redisacl writes the Redis ACL users of the rate-limit store and
// checks a login, for the native stack (internal/stack) and the test
// harness (internal/testenv), so that both run Redis with the same rules.
//
// Threat: a compromised service that shares one all-powerful Redis login
// with the others can delete the gateway's login budgets, or run FLUSHALL,
// CONFIG, SHUTDOWN or DEBUG. Rules therefore turns the default user off and
// gives each service a user that may run only the store's commands, and
// only on keys under its own prefix.
//
// NOTE: tools/stack/compose.sh writes the same rules in shell for the
// compose stack; change both together.
package redisacl

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// OperatorUser is the Redis user of readiness probes and of people who
// inspect budgets. It may run PING and INFO, and read keys under KeyPrefix
// with GET, PTTL and SCAN, but it cannot write or delete.
const OperatorUser = "operator"

// KeyPrefix starts every rate-limit key. Each service's keys are under
// KeyPrefix + name + ":", the default of store.redis.prefix
// (redisstore.DefaultPrefix plus the service name).
const KeyPrefix = "bulwark:ratelimit:"

// serviceCommands are the only commands a service's user may run. The
// rate-limit store runs its GCRA script with EVALSHA, and with EVAL when
// Redis does not have the script cached yet. Redis checks the script's own
// calls (TIME, GET, SET) against the same user. HELLO and AUTH need no
// grant because Redis runs them before authentication.
var serviceCommands = []string{"evalsha", "eval", "time", "get", "set"}

// operatorCommands are the commands of OperatorUser.
var operatorCommands = []string{"ping", "info", "scan", "get", "pttl"}

// userName matches the service names that are safe inside an ACL rule and
// a key pattern: no spaces and no glob characters.
var userName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// passwordBytes is the length of a random password before hex encoding.
const passwordBytes = 32

// ValidateUser returns an error when name cannot be a service's Redis user.
func ValidateUser(name string) error {
	if !userName.MatchString(name) || name == OperatorUser || name == "default" {
		return fmt.Errorf("service name %q cannot be a Redis ACL user; use lowercase letters, "+
			"digits and hyphens, and neither %q nor %q", name, OperatorUser, "default")
	}
	return nil
}

// Rules returns the ACL lines of redis.conf: the default user off, the
// operator, and one user per name in names. Passwords appear only as
// SHA-256 hashes. passwords maps each name in names to its password.
func Rules(operatorPassword string, passwords map[string]string, names []string) (string, error) {
	var b strings.Builder
	b.WriteString("user default off resetpass nocommands resetkeys resetchannels\n")
	fmt.Fprintf(&b, "user %s on #%s resetchannels resetkeys ~%s* -@all +%s\n",
		OperatorUser, sha256Hex(operatorPassword), KeyPrefix, strings.Join(operatorCommands, " +"))
	for _, name := range names {
		if err := ValidateUser(name); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "user %s on #%s resetchannels resetkeys ~%s%s:* -@all +%s\n",
			name, sha256Hex(passwords[name]), KeyPrefix, name, strings.Join(serviceCommands, " +"))
	}
	return b.String(), nil
}

func sha256Hex(password string) string {
	sum := sha256.Sum256([]byte(password))
	return hex.EncodeToString(sum[:])
}

// EnsurePassword returns the password in path, creating the file (mode
// 0600, directory 0700) with a random password when it is missing or
// empty.
func EnsurePassword(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if password := strings.TrimSpace(string(data)); password != "" {
			return password, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read Redis password: %w", err)
	}
	raw := make([]byte, passwordBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate Redis password: %w", err)
	}
	password := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("write Redis password: %w", err)
	}
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write Redis password: %w", err)
	}
	return password, nil
}

// Ping logs in as username and sends PING over the Redis protocol (RESP),
// over TLS with config, or in plaintext when config is nil (for tests that
// show that plaintext is rejected).
func Ping(ctx context.Context, addr, username, password string, config *tls.Config) error {
	dialer := net.Dialer{Timeout: time.Second}
	var conn net.Conn
	var err error
	if config != nil {
		tlsDialer := tls.Dialer{NetDialer: &dialer, Config: config}
		conn, err = tlsDialer.DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()

	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	request := fmt.Sprintf("*3\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n",
		len(username), username, len(password), password)
	if _, err := conn.Write([]byte(request)); err != nil {
		return err
	}
	reader := bufio.NewReader(conn)
	for _, expected := range []string{"+OK", "+PONG"} {
		line, err := reader.ReadString('\n')
		if err != nil {
			return err
		}
		if reply := strings.TrimSpace(line); reply != expected {
			// An error reply such as -LOADING or -WRONGPASS never
			// contains the password.
			return fmt.Errorf("Redis replied %q", reply)
		}
	}
	return nil
}
