package bootstrap

import (
	"strings"
	"testing"
)

func TestRenderHCLRejectsInjection(t *testing.T) {
	tests := []struct {
		desc  string
		value string
	}{
		{"quote", `/tmp/a" encrypt = "x`},
		{"newline", "/tmp/a\nacl { enabled = false }"},
		{"backslash", `/tmp/a\`},
		{"interpolation", "/tmp/${file}"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			data := map[string]any{"DataDir": tt.value, "ListenAddr": "127.0.0.1:1", "ClusterAddr": "127.0.0.1:2",
				"CertFile": "/c", "KeyFile": "/k", "APIAddr": "https://127.0.0.1:1", "ClusterURL": "https://127.0.0.1:2"}
			_, err := renderHCL(vaultFragment, data)
			if err == nil || !strings.Contains(err.Error(), "choose paths and names without them") {
				t.Fatalf("renderHCL() error = %v, want a rejection", err)
			}
		})
	}
}
