package registry

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

func TestValidateAddress(t *testing.T) {
	tests := []struct {
		desc    string
		address string
		wantErr string
	}{
		{desc: "IPv4", address: "127.0.0.1:8501"},
		{desc: "IPv6", address: "[::1]:8501"},
		{desc: "host name", address: "consul:8501"},
		{desc: "empty", address: "", wantErr: "empty"},
		{desc: "https scheme", address: "https://127.0.0.1:8501", wantErr: `use "127.0.0.1:8501"`},
		{desc: "http scheme", address: "http://127.0.0.1:8500", wantErr: `the scheme "http"`},
		{desc: "no port", address: "127.0.0.1", wantErr: "not host:port"},
		{desc: "no host", address: ":8501", wantErr: "no host"},
		{desc: "port zero", address: "127.0.0.1:0", wantErr: "invalid port"},
		{desc: "port too large", address: "127.0.0.1:65536", wantErr: "invalid port"},
		{desc: "named port", address: "127.0.0.1:https", wantErr: "invalid port"},
		{desc: "path", address: "consul/v1:8501", wantErr: "invalid host"},
		{desc: "user", address: "admin@consul:8501", wantErr: "invalid host"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			checkErr(t, ValidateAddress(tt.address), tt.wantErr)
		})
	}
}

func TestValidateTLSConfig(t *testing.T) {
	withClientCert := func(cfg *tls.Config) *tls.Config {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{}, nil
		}
		return cfg
	}
	tests := []struct {
		desc    string
		cfg     *tls.Config
		wantErr string
	}{
		{desc: "valid", cfg: testTLSConfig()},
		{
			desc: "static client certificate",
			cfg:  &tls.Config{RootCAs: x509.NewCertPool(), Certificates: []tls.Certificate{{}}},
		},
		{desc: "nil", cfg: nil, wantErr: "nil"},
		{
			desc:    "insecure skip verify",
			cfg:     withClientCert(&tls.Config{RootCAs: x509.NewCertPool(), InsecureSkipVerify: true}),
			wantErr: "InsecureSkipVerify",
		},
		{desc: "system roots", cfg: withClientCert(&tls.Config{}), wantErr: "no RootCAs"},
		{
			desc:    "no client certificate",
			cfg:     &tls.Config{RootCAs: x509.NewCertPool()},
			wantErr: "no client certificate",
		},
		{
			desc:    "TLS 1.0",
			cfg:     withClientCert(&tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS10}),
			wantErr: "TLS 1.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			checkErr(t, ValidateTLSConfig(tt.cfg), tt.wantErr)
		})
	}
}

func TestValidateTiming(t *testing.T) {
	tests := []struct {
		desc     string
		ttl      time.Duration
		interval time.Duration
		wantErr  string
	}{
		{desc: "defaults", ttl: DefaultRegisterTTL, interval: DefaultRegisterInterval},
		{desc: "half", ttl: 10 * time.Second, interval: 5 * time.Second},
		{desc: "shortest TTL", ttl: MinRegisterTTL, interval: MinRegisterTTL / 2},
		{desc: "TTL too short", ttl: MinRegisterTTL - 1, interval: time.Millisecond, wantErr: "out of range"},
		{desc: "TTL too long", ttl: MaxRegisterTTL + 1, interval: time.Second, wantErr: "out of range"},
		{desc: "zero interval", ttl: time.Minute, interval: 0, wantErr: "must be positive"},
		{desc: "negative interval", ttl: time.Minute, interval: -time.Second, wantErr: "must be positive"},
		{desc: "interval above half", ttl: 30 * time.Second, interval: 20 * time.Second, wantErr: "at most 15s"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			checkErr(t, validateTiming(tt.ttl, tt.interval), tt.wantErr)
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	client, err := vault.NewClient(vault.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	valid := func() Options {
		return Options{Service: "orders", Address: "127.0.0.1:8501", TLSConfig: testTLSConfig(), Vault: client}
	}
	tests := []struct {
		desc    string
		change  func(o *Options)
		wantErr string
	}{
		{desc: "valid", change: func(*Options) {}},
		{desc: "no service", change: func(o *Options) { o.Service = "" }, wantErr: "Options.Service"},
		{desc: "invalid service", change: func(o *Options) { o.Service = "Orders" }, wantErr: "Options.Service"},
		{desc: "no address", change: func(o *Options) { o.Address = "" }, wantErr: "address is empty"},
		{desc: "no TLS", change: func(o *Options) { o.TLSConfig = nil }, wantErr: "TLS config is nil"},
		{desc: "no Vault", change: func(o *Options) { o.Vault = nil }, wantErr: "Options.Vault is nil"},
		{desc: "mount with slash", change: func(o *Options) { o.ConsulMount = "/consul/" }, wantErr: "ConsulMount"},
		{
			desc:    "bad interval",
			change:  func(o *Options) { o.RegisterInterval = time.Minute },
			wantErr: "RegisterInterval",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			o := valid()
			tt.change(&o)
			checkErr(t, o.withDefaults().validate(), tt.wantErr)
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.RegisterTTL != DefaultRegisterTTL || o.RegisterInterval != DefaultRegisterInterval {
		t.Errorf("defaults: TTL %v, interval %v", o.RegisterTTL, o.RegisterInterval)
	}
	if o.ConsulMount != DefaultConsulMount {
		t.Errorf("default mount = %q", o.ConsulMount)
	}
	if o.Logger == nil {
		t.Error("default logger is nil")
	}
}

// checkErr fails unless err matches wantErr: nil for "", else an error
// containing wantErr.
func checkErr(t *testing.T, err error, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("error = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", wantErr)
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("error = %q, want it to contain %q", err, wantErr)
	}
}
