package boot

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadyzURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{":9101", "http://127.0.0.1:9101/readyz"},
		{"0.0.0.0:9101", "http://127.0.0.1:9101/readyz"},
		{"[::]:9101", "http://127.0.0.1:9101/readyz"},
		{"127.0.0.2:9101", "http://127.0.0.2:9101/readyz"},
		{"users:9102", "http://users:9102/readyz"},
	}
	for _, tt := range tests {
		got, err := readyzURL(tt.listen)
		if err != nil {
			t.Errorf("readyzURL(%q): %v", tt.listen, err)
			continue
		}
		if got != tt.want {
			t.Errorf("readyzURL(%q) = %q, want %q", tt.listen, got, tt.want)
		}
	}
	for _, bad := range []string{"", "9101", "127.0.0.1:0"} {
		if _, err := readyzURL(bad); err == nil {
			t.Errorf("readyzURL(%q) returned no error", bad)
		}
	}
}

func TestHealthcheckStatus(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	env := getenv(map[string]string{EnvAdminListen: ":" + port})

	var out bytes.Buffer
	if code := Healthcheck(env, &out); code != 0 {
		t.Errorf("Healthcheck of a ready service = %d (%s), want 0", code, out.String())
	}
	ready = false
	out.Reset()
	if code := Healthcheck(env, &out); code != 1 {
		t.Errorf("Healthcheck of a service that is not ready = %d, want 1", code)
	}
	if !strings.Contains(out.String(), "503") {
		t.Errorf("Healthcheck output %q does not give the status", out.String())
	}
}

func TestHealthcheckNoListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out bytes.Buffer
	if code := Healthcheck(getenv(map[string]string{EnvAdminListen: addr}), &out); code != 1 {
		t.Errorf("Healthcheck with nothing listening = %d, want 1", code)
	}
}

func TestRunMainArguments(t *testing.T) {
	var out bytes.Buffer
	if code := runMain(t.Context(), "users", Options{}, nil, []string{"serve"}, getenv(nil), &out); code != 2 {
		t.Errorf("runMain with an unknown argument = %d, want 2", code)
	}
	out.Reset()
	if code := runMain(t.Context(), "users", Options{}, nil, nil, getenv(nil), &out); code != 1 {
		t.Errorf("runMain with an empty environment = %d, want 1", code)
	}
	if !strings.Contains(out.String(), EnvVaultAddr) {
		t.Errorf("log does not name the missing variables:\n%s", out.String())
	}
}
