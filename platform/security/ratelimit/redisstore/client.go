package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of ClientOptions.
const (
	DefaultDialTimeout = time.Second
	DefaultIOTimeout   = 500 * time.Millisecond
	DefaultMaxConnAge  = 10 * time.Minute
)

// ClientOptions configures NewClient.
type ClientOptions struct {
	// Addr is host:port of Redis. Required.
	Addr string
	// Username is the Redis ACL user; empty means the default user.
	Username string
	// PasswordFile is the path of a file holding the password on its first
	// line. It must not be readable by group or others (mode 0600 or
	// stricter). Empty means no password.
	PasswordFile string
	// TLS, when set, makes the connection use TLS with this config.
	TLS *tls.Config
	// DialTimeout bounds connecting; zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// IOTimeout bounds each read and write; zero means DefaultIOTimeout.
	IOTimeout time.Duration
	// MaxConnAge closes a pooled connection this long after it was opened;
	// zero means DefaultMaxConnAge. Redis checks a client certificate only
	// during the handshake, so this bounds how long a connection outlives
	// a rotated or expired certificate.
	MaxConnAge time.Duration
}

// NewClient returns a go-redis client for a rate-limit store. The password
// is read from PasswordFile, never from the command line or environment,
// and appears in no error. The client does not retry failed commands: the
// store falls back instead, so a dead Redis costs one timeout, not several.
func NewClient(opts ClientOptions) (*redis.Client, error) {
	if opts.Addr == "" {
		return nil, errors.New("redisstore: Redis address is empty; set it to host:port")
	}
	password, err := readPasswordFile(opts.PasswordFile)
	if err != nil {
		return nil, err
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.IOTimeout == 0 {
		opts.IOTimeout = DefaultIOTimeout
	}
	if opts.MaxConnAge == 0 {
		opts.MaxConnAge = DefaultMaxConnAge
	}
	return redis.NewClient(&redis.Options{
		Addr:            opts.Addr,
		Username:        opts.Username,
		Password:        password,
		TLSConfig:       opts.TLS,
		DialTimeout:     opts.DialTimeout,
		ReadTimeout:     opts.IOTimeout,
		WriteTimeout:    opts.IOTimeout,
		ConnMaxLifetime: opts.MaxConnAge,
		MaxRetries:      -1, // go-redis: -1 disables retries
		DisableIdentity: true,
	}), nil
}

// readPasswordFile returns the first line of path, after checking that
// only its owner can read it.
func readPasswordFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("redisstore: Redis password file: %w", err)
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		return "", fmt.Errorf("redisstore: Redis password file %s has mode %04o; make it readable by its owner only (chmod 600)", path, mode)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("redisstore: Redis password file: %w", err)
	}
	password, _, _ := strings.Cut(string(data), "\n")
	password = strings.TrimSuffix(password, "\r")
	if password == "" {
		return "", fmt.Errorf("redisstore: Redis password file %s is empty; write the password on its first line", path)
	}
	return password, nil
}
