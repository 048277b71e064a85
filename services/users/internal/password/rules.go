package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// MinLength is the minimum number of characters (Unicode code points).
	MinLength = 12
	// MaxLength is the maximum number of characters. Long passphrases are
	// welcome; the limit only bounds the work of one request.
	MaxLength = 128
	// MaxBytes bounds the UTF-8 size, because argon2id hashes bytes and a
	// character can take four of them.
	MaxBytes = 512
)

// common lists passwords that meet the length rule but are among the first
// guesses of any attacker. The check ignores case.
var common = map[string]bool{
	"password1234": true, "password12345": true, "password123456": true, "123456789012": true,
	"1234567890123": true, "qwertyuiopas": true, "qwerty123456": true, "iloveyou1234": true,
	"letmein12345": true, "welcome12345": true, "administrator": true, "passwordpassword": true,
	"correcthorsebatterystaple": true, "aaaaaaaaaaaa": true, "abcdefghijkl": true, "abc123abc123": true,
}

// Check returns a reason, written for the end user, why password is not
// acceptable for the account email, or "" if it is acceptable.
func Check(password, email string) string {
	if !utf8.ValidString(password) {
		return "must be valid UTF-8 text"
	}
	if len(password) > MaxBytes {
		return fmt.Sprintf("is %d bytes long; the maximum is %d bytes", len(password), MaxBytes)
	}
	n := utf8.RuneCountInString(password)
	if n < MinLength {
		return fmt.Sprintf("is %d characters long; use at least %d", n, MinLength)
	}
	if n > MaxLength {
		return fmt.Sprintf("is %d characters long; the maximum is %d", n, MaxLength)
	}
	for _, r := range password {
		if unicode.IsControl(r) {
			return "must not contain control characters such as newlines or tabs"
		}
	}
	lower := strings.ToLower(password)
	if common[lower] {
		return "is a commonly used password; choose another"
	}
	if oneCharacter(password) {
		return "repeats one character; choose a password with more variety"
	}
	if email != "" {
		local, _, _ := strings.Cut(strings.ToLower(email), "@")
		if lower == strings.ToLower(email) || (len(local) >= 4 && strings.Contains(lower, local)) {
			return "must not contain your email address"
		}
	}
	return ""
}

func oneCharacter(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}
