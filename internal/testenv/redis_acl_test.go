package testenv

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisLogin returns a client that logs in as user over TLS with the
// operator certificate, and closes it when the test ends.
func redisLogin(t *testing.T, env *Env, user RedisUser) *redis.Client {
	t.Helper()
	password := ""
	if user.PasswordFile != "" {
		data, err := os.ReadFile(user.PasswordFile)
		if err != nil {
			t.Fatal(err)
		}
		password = strings.TrimSpace(string(data))
	}
	client := redis.NewClient(&redis.Options{
		Addr: env.RedisAddr, Username: user.Username, Password: password, TLSConfig: env.RedisTLSConfig(t),
		MaxRetries: -1, DisableIdentity: true, DialTimeout: 2 * time.Second,
	})
	t.Cleanup(func() { client.Close() })
	return client
}

// assertNoPerm checks that Redis rejected a command with NOPERM, the reply
// of an ACL denial.
func assertNoPerm(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: Redis accepted it, want a NOPERM error", what)
		return
	}
	if !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("%s: error %q, want a NOPERM error", what, err)
	}
}

// testRedisACL checks the ACL users of the harness's Redis: each service
// reaches only its own rate-limit keys through the store's commands, the
// operator only reads, and the default user is off.
func testRedisACL(t *testing.T, env *Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gatewayKey := RedisKeyPrefix + "gateway:acl-test"
	setScript := "return redis.call('SET', KEYS[1], redis.call('TIME')[1], 'PX', 60000)"

	gateway := redisLogin(t, env, env.RedisUsers["gateway"])
	if err := gateway.Eval(ctx, setScript, []string{gatewayKey}).Err(); err != nil {
		t.Fatalf("gateway user sets its own key with EVAL: %v", err)
	}
	if err := gateway.Get(ctx, gatewayKey).Err(); err != nil {
		t.Errorf("gateway user reads its own key: %v", err)
	}

	t.Run("service user stays in its prefix", func(t *testing.T) {
		inventory := redisLogin(t, env, env.RedisUsers["inventory"])
		if err := inventory.Eval(ctx, setScript, []string{RedisKeyPrefix + "inventory:acl-test"}).Err(); err != nil {
			t.Fatalf("inventory user sets its own key with EVAL: %v", err)
		}
		assertNoPerm(t, "inventory DEL of a gateway key", inventory.Del(ctx, gatewayKey).Err())
		assertNoPerm(t, "inventory SET of a gateway key", inventory.Set(ctx, gatewayKey, "0", time.Minute).Err())
		assertNoPerm(t, "inventory GET of a gateway key", inventory.Get(ctx, gatewayKey).Err())
		assertNoPerm(t, "inventory GET of a key outside the prefix", inventory.Get(ctx, "other").Err())
		if err := inventory.Eval(ctx, setScript, []string{gatewayKey}).Err(); err == nil {
			t.Error("inventory EVAL on a gateway key: Redis accepted it")
		}
		if err := inventory.Eval(ctx, "return redis.call('DEL', '"+gatewayKey+"')", nil).Err(); err == nil {
			t.Error("inventory EVAL deleting an undeclared gateway key: Redis accepted it")
		}
		for _, args := range [][]any{
			{"FLUSHALL"}, {"FLUSHDB"}, {"CONFIG", "GET", "*"}, {"CONFIG", "SET", "maxmemory", "1"},
			{"SHUTDOWN", "NOSAVE"}, {"ACL", "LIST"}, {"KEYS", "*"},
			{"SCAN", "0"}, {"CLIENT", "KILL", "TYPE", "normal"}, {"PUBLISH", "c", "m"},
		} {
			assertNoPerm(t, "inventory "+strings.ToUpper(args[0].(string)), inventory.Do(ctx, args...).Err())
		}
		// Redis 7 rejects DEBUG before the ACL check while
		// enable-debug-command is "no", its default, so either error
		// shows the command rejected.
		if err := inventory.Do(ctx, "DEBUG", "SLEEP", "0").Err(); err == nil {
			t.Error("inventory DEBUG: Redis accepted it")
		} else if !strings.HasPrefix(err.Error(), "NOPERM") && !strings.Contains(err.Error(), "DEBUG command not allowed") {
			t.Errorf("inventory DEBUG: error %q, want NOPERM or DEBUG command not allowed", err)
		}
		if err := gateway.Get(ctx, gatewayKey).Err(); err != nil {
			t.Errorf("gateway key after the inventory user's attempts: %v", err)
		}
	})

	t.Run("operator only reads", func(t *testing.T) {
		operator := redisLogin(t, env, RedisUser{Username: env.RedisUsername, PasswordFile: env.RedisPasswordFile})
		if err := operator.Ping(ctx).Err(); err != nil {
			t.Fatalf("operator PING: %v", err)
		}
		if err := operator.Get(ctx, gatewayKey).Err(); err != nil {
			t.Errorf("operator GET of a gateway key: %v", err)
		}
		if _, _, err := operator.Scan(ctx, 0, RedisKeyPrefix+"*", 100).Result(); err != nil {
			t.Errorf("operator SCAN: %v", err)
		}
		assertNoPerm(t, "operator DEL", operator.Del(ctx, gatewayKey).Err())
		assertNoPerm(t, "operator SET", operator.Set(ctx, gatewayKey, "0", time.Minute).Err())
		assertNoPerm(t, "operator FLUSHALL", operator.FlushAll(ctx).Err())
		assertNoPerm(t, "operator EVAL", operator.Eval(ctx, "return 1", nil).Err())
	})

	t.Run("logins", func(t *testing.T) {
		wrong := t.TempDir() + "/wrong"
		if err := os.WriteFile(wrong, []byte("wrong-password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		operatorPassword := RedisUser{Username: "default", PasswordFile: env.RedisPasswordFile}
		for _, c := range []struct {
			desc string
			user RedisUser
		}{
			{"default user without password", RedisUser{}},
			{"default user with the operator password", operatorPassword},
			{"default user with a wrong password", RedisUser{Username: "default", PasswordFile: wrong}},
			{"gateway user with a wrong password", RedisUser{Username: "gateway", PasswordFile: wrong}},
			{"gateway user with the inventory password", RedisUser{Username: "gateway", PasswordFile: env.RedisUsers["inventory"].PasswordFile}},
		} {
			t.Run(c.desc, func(t *testing.T) {
				err := redisLogin(t, env, c.user).Get(ctx, gatewayKey).Err()
				if err == nil || errors.Is(err, redis.Nil) {
					t.Fatalf("GET succeeded (err %v), want a failed login", err)
				}
				if !strings.Contains(err.Error(), "NOAUTH") && !strings.Contains(err.Error(), "WRONGPASS") {
					t.Errorf("error %q, want NOAUTH or WRONGPASS", err)
				}
			})
		}
	})
}
