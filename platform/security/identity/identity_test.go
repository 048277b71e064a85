package identity

import (
	"crypto/x509"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		desc    string
		name    string
		wantErr string
	}{
		{desc: "plain", name: "orders"},
		{desc: "digits and hyphen", name: "orders-v2"},
		{desc: "one letter", name: "a"},
		{desc: "longest", name: strings.Repeat("a", MaxNameLength)},
		{desc: "empty", name: "", wantErr: "empty"},
		{desc: "too long", name: strings.Repeat("a", MaxNameLength+1), wantErr: "maximum is 63"},
		{desc: "uppercase", name: "Orders", wantErr: `contains 'O'`},
		{desc: "leading digit", name: "1orders", wantErr: "must start with a lowercase letter"},
		{desc: "leading hyphen", name: "-orders", wantErr: "must start with a lowercase letter"},
		{desc: "trailing hyphen", name: "orders-", wantErr: "must not end with a hyphen"},
		{desc: "dot", name: "orders.v2", wantErr: `contains '.'`},
		{desc: "slash", name: "orders/admin", wantErr: `contains '/'`},
		{desc: "non-ASCII", name: "ordérs", wantErr: `contains 'é'`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := ValidateName(tt.name)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateName(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want an error containing %q", tt.name, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateName(%q) = %q, want it to contain %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestURIAndDNSName(t *testing.T) {
	if got, want := URI("orders"), "spiffe://bulwark.internal/service/orders"; got != want {
		t.Errorf("URI = %q, want %q", got, want)
	}
	if got, want := DNSName("orders"), "orders.service.bulwark.internal"; got != want {
		t.Errorf("DNSName = %q, want %q", got, want)
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct {
		desc    string
		uri     string
		want    string
		wantErr bool
	}{
		{desc: "service", uri: "spiffe://bulwark.internal/service/orders", want: "orders"},
		{desc: "other scheme", uri: "https://bulwark.internal/service/orders", wantErr: true},
		{desc: "other trust domain", uri: "spiffe://evil.internal/service/orders", wantErr: true},
		{desc: "trust domain suffix", uri: "spiffe://bulwark.internal.evil/service/orders", wantErr: true},
		{desc: "port", uri: "spiffe://bulwark.internal:443/service/orders", wantErr: true},
		{desc: "user info", uri: "spiffe://orders@bulwark.internal/service/orders", wantErr: true},
		{desc: "query", uri: "spiffe://bulwark.internal/service/orders?as=gateway", wantErr: true},
		{desc: "fragment", uri: "spiffe://bulwark.internal/service/orders#gateway", wantErr: true},
		{desc: "other path", uri: "spiffe://bulwark.internal/user/orders", wantErr: true},
		{desc: "nested path", uri: "spiffe://bulwark.internal/service/orders/admin", wantErr: true},
		{desc: "empty name", uri: "spiffe://bulwark.internal/service/", wantErr: true},
		{desc: "dot segment", uri: "spiffe://bulwark.internal/service/../gateway", wantErr: true},
		{desc: "uppercase name", uri: "spiffe://bulwark.internal/service/Orders", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			u, err := url.Parse(tt.uri)
			if err != nil {
				t.Fatalf("url.Parse(%q): %v", tt.uri, err)
			}
			got, err := ParseURI(u)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseURI(%q) = %q, want an error", tt.uri, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURI(%q): %v", tt.uri, err)
			}
			if got != tt.want {
				t.Fatalf("ParseURI(%q) = %q, want %q", tt.uri, got, tt.want)
			}
		})
	}
	if _, err := ParseURI(nil); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("ParseURI(nil) = %v, want ErrNoIdentity", err)
	}
}

func TestFromCertificate(t *testing.T) {
	mustURL := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", s, err)
		}
		return u
	}
	tests := []struct {
		desc      string
		uris      []*url.URL
		want      string
		wantNoID  bool
		wantError bool
	}{
		{desc: "one URI SAN", uris: []*url.URL{mustURL(URI("users"))}, want: "users"},
		{desc: "no URI SAN", wantNoID: true, wantError: true},
		{
			desc:      "two URI SANs",
			uris:      []*url.URL{mustURL(URI("users")), mustURL(URI("gateway"))},
			wantError: true,
		},
		{desc: "foreign URI SAN", uris: []*url.URL{mustURL("spiffe://evil.internal/service/users")}, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cert := &x509.Certificate{SerialNumber: big.NewInt(7), URIs: tt.uris}
			got, err := FromCertificate(cert)
			if tt.wantError {
				if err == nil {
					t.Fatalf("FromCertificate = %q, want an error", got)
				}
				if tt.wantNoID && !errors.Is(err, ErrNoIdentity) {
					t.Fatalf("FromCertificate error = %v, want ErrNoIdentity", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromCertificate: %v", err)
			}
			if got != tt.want {
				t.Fatalf("FromCertificate = %q, want %q", got, tt.want)
			}
		})
	}
}
