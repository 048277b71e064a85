package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters of a hash.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
}

// DefaultParams follow the first argon2id configuration that the OWASP
// Password Storage Cheat Sheet lists: 19 MiB of memory, 2 passes, 1 thread.
// One hash takes a few tens of milliseconds on one core; raise Memory first
// where the hosts allow it.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// maxMemory bounds the memory cost read back from a stored hash, so a
	// tampered row cannot make a login allocate gigabytes.
	maxMemory = 1024 * 1024
	maxTime   = 16
)

// ErrMismatch is returned by Verify when the password does not match.
var ErrMismatch = errors.New("password: password does not match")

func (p Params) validate() error {
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory {
		return fmt.Errorf("password: argon2id memory %d KiB is out of range; use 8*threads to %d", p.Memory, maxMemory)
	}
	if p.Time < 1 || p.Time > maxTime {
		return fmt.Errorf("password: argon2id time %d is out of range; use 1 to %d", p.Time, maxTime)
	}
	if p.Threads < 1 {
		return errors.New("password: argon2id threads is 0; use at least 1")
	}
	return nil
}

// Hash returns the PHC-format argon2id hash of password with a new random
// salt, for example $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func Hash(password string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify checks password against a hash made by Hash. It returns ErrMismatch
// when the password is wrong and another error when the hash is malformed.
func Verify(password, hash string) error {
	p, salt, key, err := parse(hash)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

func parse(hash string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("password: stored hash is not in argon2id PHC format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("password: stored hash has argon2 version %q; want v=%d", parts[2], argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("password: stored hash parameters %q: %w", parts[3], err)
	}
	if err := p.validate(); err != nil {
		return p, nil, nil, err
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("password: stored hash has a malformed salt")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("password: stored hash has a malformed key")
	}
	return p, salt, key, nil
}
