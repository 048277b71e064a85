package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// probeName is the service name and KV key that the write checks use. No
// Bulwark policy grants it, and a probe that Consul accepts is removed at once.
const probeName = "bulwark-verify-probe"

// maxEvidence bounds the part of a response body quoted as evidence.
const maxEvidence = 200

// prober sends the checks' requests to one Consul agent.
type prober struct {
	cfg       Config
	tlsConfig *tls.Config // trusts the CA and presents the client certificate
	client    *http.Client
	tokens    map[string]string // by service name
}

func newProber(cfg Config) (*prober, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tlsConfig, err := loadClientTLS(cfg)
	if err != nil {
		return nil, err
	}
	tokens := make(map[string]string, len(cfg.ServiceTokens))
	for name, path := range cfg.ServiceTokens {
		if tokens[name], err = readToken(name, path); err != nil {
			return nil, err
		}
	}
	return &prober{cfg: cfg, tlsConfig: tlsConfig, client: newHTTPClient(tlsConfig, cfg.Timeout), tokens: tokens}, nil
}

// newHTTPClient returns an HTTP client that uses tlsConfig and ignores proxy settings,
// so every request goes straight to the address under test.
func newHTTPClient(tlsConfig *tls.Config, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:             nil,
			TLSClientConfig:   tlsConfig,
			DisableKeepAlives: true,
		},
	}
}

// response is the part of an HTTP response that a check judges.
type response struct {
	status int
	body   []byte
}

// evidence describes the response in one line, without any token.
func (r response) evidence(p *prober) string {
	return fmt.Sprintf("HTTP %d: %s", r.status, p.clean(string(r.body)))
}

// do sends one request with an optional token and JSON body.
func (p *prober) do(ctx context.Context, client *http.Client, method, url, token string, body any) (response,
	error,
) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()

	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, body: data}, nil
}

// url returns the HTTPS URL of a Consul API path.
func (p *prober) url(path string) string {
	return "https://" + p.cfg.Address + path
}

// clean shortens text to one line of at most maxEvidence bytes and removes
// every service token from it.
func (p *prober) clean(text string) string {
	for _, token := range p.tokens {
		text = strings.ReplaceAll(text, token, "[redacted]")
	}
	text = strings.Join(strings.Fields(text), " ")
	if len(text) > maxEvidence {
		text = text[:maxEvidence] + "..."
	}
	if text == "" {
		return "(empty body)"
	}
	return text
}

// errEvidence describes a transport error in one line, without any token.
func (p *prober) errEvidence(err error) string {
	return p.clean(err.Error())
}

// probeID returns a fresh service ID for a probe registration.
func probeID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return probeName + "-" + hex.EncodeToString(b)
}

func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verify: read the CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("verify: CA file %s %w", path, errNoCertificates)
	}
	return pool, nil
}
