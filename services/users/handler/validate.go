package handler

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/services/internal/rpc"
	"github.com/bulwark-go/bulwark/services/users/api"
	"github.com/bulwark-go/bulwark/services/users/internal/password"
)

const (
	// MaxEmailLength is the longest email address accepted, from the SMTP
	// path limit of RFC 5321.
	MaxEmailLength = 254
	maxLocalLength = 64
)

// normalizeEmail trims and lowercases an email address and checks that it is
// a bare address (no display name, no comments) with a dotted domain. It
// returns the field error to send for an invalid address.
func normalizeEmail(raw string) (string, error) {
	id := api.ServiceName
	// Check UTF-8 before lowercasing, because strings.ToLower replaces
	// invalid bytes with U+FFFD and would hide them.
	if !utf8.ValidString(raw) {
		return "", rpc.InvalidField(id, "email", "must be valid UTF-8 text")
	}
	email := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case email == "":
		return "", rpc.InvalidField(id, "email", "is required")
	case len(email) > MaxEmailLength:
		return "", rpc.InvalidField(id, "email",
			fmt.Sprintf("is %d bytes long; the maximum is %d", len(email), MaxEmailLength))
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "", rpc.InvalidField(id, "email", "must be a plain address such as name@example.com")
	}
	local, domain, _ := strings.Cut(email, "@")
	if len(local) > maxLocalLength {
		return "", rpc.InvalidField(id, "email",
			fmt.Sprintf("has a %d-byte local part; the maximum is %d", len(local), maxLocalLength))
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") || strings.ContainsAny(domain, "[]") {
		return "", rpc.InvalidField(id, "email", "must have a domain name such as example.com")
	}
	return email, nil
}

// checkLoginPassword rejects a missing or oversized password before any hash
// work, without judging its strength: old accounts may predate the rules.
func checkLoginPassword(pw string) error {
	if pw == "" {
		return rpc.InvalidField(api.ServiceName, "password", "is required")
	}
	if len(pw) > password.MaxBytes {
		return rpc.InvalidField(api.ServiceName, "password",
			fmt.Sprintf("is %d bytes long; the maximum is %d bytes", len(pw), password.MaxBytes))
	}
	return nil
}
