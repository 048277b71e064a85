package password

import (
	"errors"
	"strings"
	"testing"
)

// testParams keep the unit tests fast; TestHashDefaultParams covers the
// production parameters once.
var testParams = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashRoundTrip(t *testing.T) {
	hash, err := Hash("correct horse battery", testParams)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if err := Verify("correct horse battery", hash); err != nil {
		t.Errorf("Verify(right password) = %v, want nil", err)
	}
	if err := Verify("correct horse batterz", hash); !errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(wrong password) = %v, want ErrMismatch", err)
	}
	if err := Verify("", hash); !errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(empty password) = %v, want ErrMismatch", err)
	}
}

func TestHashDefaultParams(t *testing.T) {
	hash, err := Hash("correct horse battery", DefaultParams)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash = %q, want the argon2id PHC prefix with the default parameters", hash)
	}
	if err := Verify("correct horse battery", hash); err != nil {
		t.Errorf("Verify = %v", err)
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	a, err := Hash("same password here", testParams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Hash("same password here", testParams)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two hashes of one password are equal; the salt is not random")
	}
}

func TestHashRejectsBadParams(t *testing.T) {
	for _, p := range []Params{
		{Memory: 0, Time: 1, Threads: 1},
		{Memory: 64, Time: 0, Threads: 1},
		{Memory: 64, Time: 1, Threads: 0},
		{Memory: maxMemory + 1, Time: 1, Threads: 1},
	} {
		if _, err := Hash("x", p); err == nil {
			t.Errorf("Hash with %+v succeeded", p)
		}
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	good, err := Hash("correct horse battery", testParams)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	tests := []struct {
		desc string
		hash string
	}{
		{desc: "empty", hash: ""},
		{desc: "bcrypt", hash: "$2a$10$abcdefghijklmnopqrstuv"},
		{desc: "argon2i", hash: strings.Replace(good, "argon2id", "argon2i", 1)},
		{desc: "old version", hash: strings.Replace(good, "v=19", "v=16", 1)},
		{desc: "huge memory", hash: strings.Replace(good, "m=64", "m=99999999", 1)},
		{desc: "bad salt", hash: strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$")},
		{desc: "short key", hash: strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$")},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := Verify("correct horse battery", tt.hash)
			if err == nil || errors.Is(err, ErrMismatch) {
				t.Errorf("Verify = %v, want a malformed-hash error", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		desc     string
		password string
		email    string
		want     string
	}{
		{desc: "good", password: "violet-harbor-31", email: "ann@example.com"},
		{desc: "unicode passphrase", password: "grüße aus köln!", email: "ann@example.com"},
		{desc: "too short", password: "short1", want: "use at least 12"},
		{desc: "short in characters", password: "ääääbbbbccc", want: "use at least 12"},
		{desc: "too many characters", password: strings.Repeat("ab", 65), want: "the maximum is 128"},
		{desc: "too many bytes", password: strings.Repeat("😀", 129), want: "the maximum is 512 bytes"},
		{desc: "invalid UTF-8", password: "abcdefghijk\xff", want: "valid UTF-8"},
		{desc: "newline", password: "abcdef\nghijkl", want: "control characters"},
		{desc: "common", password: "Password1234", want: "commonly used"},
		{desc: "one character", password: "zzzzzzzzzzzzzz", want: "repeats one character"},
		{desc: "email", password: "ann@example.com", email: "ann@example.com", want: "email address"},
		{desc: "local part", password: "annabelle-2026x", email: "annabelle@example.com", want: "email address"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := Check(tt.password, tt.email)
			if tt.want == "" {
				if got != "" {
					t.Fatalf("Check = %q, want acceptable", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("Check = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}
