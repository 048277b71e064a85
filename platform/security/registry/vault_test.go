package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// fakeVault serves the two endpoints that vaultIssuer calls.
func fakeVault(t *testing.T, handler http.HandlerFunc) *vault.Client {
	t.Helper()
	srv := httptest.NewTLSServer(handler)
	t.Cleanup(srv.Close)
	cfg := vault.DefaultConfig()
	cfg.Address = srv.URL
	cfg.HttpClient = srv.Client()
	cfg.MaxRetries = 0
	client, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken("vault-token")
	return client
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func TestVaultIssuer(t *testing.T) {
	var renewBody map[string]any
	client := fakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/consul/creds/orders":
			writeJSON(w, map[string]any{
				"lease_id": "consul/creds/orders/abc", "lease_duration": 60, "renewable": true,
				"data": map[string]any{"token": testSecret, "accessor": "accessor-1"},
			})
		case r.Method == http.MethodPut && r.URL.Path == "/v1/sys/leases/renew/consul/creds/orders/abc":
			_ = json.NewDecoder(r.Body).Decode(&renewBody)
			writeJSON(w, map[string]any{"lease_id": "consul/creds/orders/abc", "lease_duration": 30})
		default:
			w.WriteHeader(http.StatusForbidden)
			writeJSON(w, map[string]any{"errors": []string{"permission denied"}})
		}
	})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	issuer := newVaultIssuer(client, "consul", "orders", func() time.Time { return now })

	tok, err := issuer.issue(context.Background())
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	if tok.SecretID() != testSecret || tok.AccessorID != "accessor-1" || tok.LeaseID != "consul/creds/orders/abc" ||
		tok.LeaseDuration != time.Minute || !tok.Renewable || !tok.IssuedAt.Equal(now) {
		t.Fatalf("issue returned %#v", tok)
	}

	granted, err := issuer.renew(context.Background(), tok, time.Minute)
	if err != nil {
		t.Fatalf("renew: %v", err)
	}
	if granted != 30*time.Second {
		t.Errorf("renew granted %v, want 30s", granted)
	}
	if got, ok := renewBody["increment"].(float64); !ok || got != 60 {
		t.Errorf("renew sent increment %v, want 60 (seconds)", renewBody["increment"])
	}

	other := newVaultIssuer(client, "consul", "users", time.Now)
	_, err = other.issue(context.Background())
	if err == nil || !strings.Contains(err.Error(), "consul/creds/users") {
		t.Errorf("issue from a forbidden role = %v, want an error naming the path", err)
	}
}

func TestParseCredentials(t *testing.T) {
	valid := func() *vault.Secret {
		return &vault.Secret{LeaseID: "consul/creds/orders/abc", LeaseDuration: 60, Renewable: true,
			Data: map[string]any{"token": testSecret, "accessor": "accessor-1"}}
	}
	tests := []struct {
		desc    string
		secret  func() *vault.Secret
		wantErr string
	}{
		{desc: "valid", secret: valid},
		{desc: "nil", secret: func() *vault.Secret { return nil }, wantErr: "no secret"},
		{desc: "no token", secret: func() *vault.Secret { s := valid(); delete(s.Data, "token"); return s },
			wantErr: "no token field"},
		{desc: "token not a string", secret: func() *vault.Secret { s := valid(); s.Data["token"] = 7; return s },
			wantErr: "no token field"},
		{desc: "no accessor", secret: func() *vault.Secret { s := valid(); delete(s.Data, "accessor"); return s },
			wantErr: "without an accessor"},
		{desc: "no lease", secret: func() *vault.Secret { s := valid(); s.LeaseID = ""; return s },
			wantErr: "without a lease"},
		{desc: "zero duration", secret: func() *vault.Secret { s := valid(); s.LeaseDuration = 0; return s },
			wantErr: "without a lease"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := parseCredentials("consul/creds/orders", tt.secret(), time.Now())
			checkErr(t, err, tt.wantErr)
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Errorf("error contains the secret ID: %q", err)
			}
		})
	}
}

func TestParseRenewal(t *testing.T) {
	tests := []struct {
		desc    string
		secret  *vault.Secret
		want    time.Duration
		wantErr string
	}{
		{desc: "granted", secret: &vault.Secret{LeaseID: "l1", LeaseDuration: 45}, want: 45 * time.Second},
		{desc: "no lease ID echoed", secret: &vault.Secret{LeaseDuration: 45}, want: 45 * time.Second},
		{desc: "nil", secret: nil, wantErr: "no lease"},
		{desc: "other lease", secret: &vault.Secret{LeaseID: "l2", LeaseDuration: 45}, wantErr: "returned lease l2"},
		{desc: "nothing granted", secret: &vault.Secret{LeaseID: "l1"}, wantErr: "max_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := parseRenewal("l1", tt.secret)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("granted %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRenewNonRenewable(t *testing.T) {
	issuer := newVaultIssuer(nil, "consul", "orders", time.Now)
	tok := newToken(testSecret, "a", "consul/creds/orders/abc", time.Minute, false, time.Now())
	if _, err := issuer.renew(context.Background(), tok, time.Minute); err == nil {
		t.Error("renew of a non-renewable lease succeeded")
	}
}

func TestIsACLNotFound(t *testing.T) {
	tests := []struct {
		desc string
		err  error
		want bool
	}{
		{desc: "nil", err: nil, want: false},
		{desc: "unknown token", err: errors.New("Unexpected response code: 403 (ACL not found)"), want: true},
		{
			desc: "leader not elected yet",
			err: errors.New("Unexpected response code: 403 (ACL system must be bootstrapped before making any " +
				"requests that require authorization: ACL not found)"),
			want: false,
		},
		{desc: "permission denied", err: errors.New("Unexpected response code: 403 (Permission denied)"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := isACLNotFound(tt.err); got != tt.want {
				t.Errorf("isACLNotFound(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
