package ids

import (
	"strings"
	"testing"
)

func TestNewIsValid(t *testing.T) {
	id := New("o")
	if !Valid("o", id) {
		t.Fatalf("Valid(o, %q) = false", id)
	}
	if id == New("o") {
		t.Error("two new ids are equal")
	}
}

func TestValid(t *testing.T) {
	hex := strings.Repeat("ab", 16)
	tests := []struct {
		id   string
		want bool
	}{
		{id: "o_" + hex, want: true},
		{id: "u_" + hex, want: false},
		{id: "o" + hex, want: false},
		{id: "o_" + hex[:31], want: false},
		{id: "o_" + hex + "0", want: false},
		{id: "o_" + strings.ToUpper(hex), want: false},
		{id: "o_" + hex[:31] + "g", want: false},
		{id: "o_../" + hex[4:], want: false},
		{id: "", want: false},
	}
	for _, tt := range tests {
		if got := Valid("o", tt.id); got != tt.want {
			t.Errorf("Valid(o, %q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
