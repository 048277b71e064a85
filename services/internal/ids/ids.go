// Package ids creates and checks the random identifiers of users, orders and
// events: a short prefix naming the kind, an underscore and 32 lowercase hex
// digits (128 random bits), for example o_3f2a9c0e5b7d41a8a6e3c2b1d0f9e8a7.
//
// Identifiers are random rather than sequential so that one valid id tells
// nothing about the others and cannot be used to walk through a collection.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

const randomHexLen = 32

// New returns a new random identifier with the given prefix.
func New(prefix string) string {
	b := make([]byte, randomHexLen/2)
	// crypto/rand.Read never returns an error on supported platforms; it
	// crashes the program instead of returning weak bytes.
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// Valid reports whether id has the form New(prefix) produces.
func Valid(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	if !ok || len(rest) != randomHexLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
