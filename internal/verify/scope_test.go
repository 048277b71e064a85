package verify

import (
	"strings"
	"testing"
)

func TestScopeNative(t *testing.T) {
	s, err := newScope("127.0.0.1:8501")
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.1:1", "127.0.0.2:443", "[::1]:80"} {
		if err := s.check("test", addr); err != nil {
			t.Errorf("check(%s) = %v, want nil", addr, err)
		}
	}
	for _, addr := range []string{"172.30.53.20:9000", "10.0.0.1:80", "8.8.8.8:53", "example.com:443"} {
		if err := s.check("test", addr); err == nil {
			t.Errorf("check(%s) = nil, want an error", addr)
		}
	}
}

func TestScopeCompose(t *testing.T) {
	s, err := newScope("172.30.53.10:8501")
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"172.30.53.20:9000", "127.0.0.1:8443"} {
		if err := s.check("test", addr); err != nil {
			t.Errorf("check(%s) = %v, want nil", addr, err)
		}
	}
	err = s.check("catalog instance x", "172.30.54.20:9000")
	if err == nil || !strings.Contains(err.Error(), "172.30.53.0/24") {
		t.Errorf("check outside the subnet = %v, want an error naming the subnet", err)
	}
	if !isScopeError(err) {
		t.Errorf("error %v is not a ScopeError", err)
	}
}

func TestScopeRejectsPublicConsul(t *testing.T) {
	for _, addr := range []string{"8.8.8.8:8501", "consul.example:8501", "8501"} {
		if _, err := newScope(addr); err == nil {
			t.Errorf("newScope(%s) = nil error, want one", addr)
		}
	}
}

func TestCheckURL(t *testing.T) {
	s, _ := newScope("127.0.0.1:8501")
	if got, err := s.checkURL("VAULT_ADDR", "https://127.0.0.1:8200"); err != nil || got != "127.0.0.1:8200" {
		t.Errorf("checkURL = %q, %v", got, err)
	}
	if _, err := s.checkURL("VAULT_ADDR", "http://127.0.0.1:8200"); err == nil {
		t.Error("checkURL accepted http://")
	}
}
