package verify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/bulwark-go/bulwark/platform/security/registry"
)

func pass(check, evidence string) Result {
	return Result{Check: check, Status: Pass, Evidence: evidence}
}

func fail(check, evidence string) Result {
	return Result{Check: check, Status: Fail, Evidence: evidence}
}

// checkPlaintext sends a plain HTTP request to the HTTPS address. Consul must
// not respond with data.
func (p *prober) checkPlaintext(ctx context.Context) Result {
	const check = "plaintext HTTP rejected"
	client := newHTTPClient(nil, p.cfg.Timeout)
	resp, err := p.do(ctx, client, http.MethodGet, "http://"+p.cfg.Address+"/v1/status/leader", "", nil)
	if err != nil {
		return pass(check, "request failed: "+p.errEvidence(err))
	}
	if resp.status == http.StatusOK {
		return fail(check, "Consul responded to plaintext HTTP: "+resp.evidence(p))
	}
	return pass(check, resp.evidence(p))
}

// checkNoClientCert connects with the trusted CA but without a client
// certificate. Consul with verify_incoming ends the handshake.
func (p *prober) checkNoClientCert(ctx context.Context) Result {
	const check = "HTTPS without client certificate rejected"
	cfg := p.tlsConfig.Clone()
	cfg.Certificates = nil
	return p.expectHandshakeFailure(ctx, check, cfg)
}

// checkUntrustedClientCert presents a client certificate from a CA outside
// the trust chain.
func (p *prober) checkUntrustedClientCert(ctx context.Context) Result {
	const check = "HTTPS with untrusted client certificate rejected"
	cert, err := untrustedLeaf("bulwark-verify-client")
	if err != nil {
		return fail(check, "could not make the certificate: "+err.Error())
	}
	// GetClientCertificate sends the certificate even though its issuer is
	// not among the CAs that Consul names. With Certificates, Go's client
	// would send no certificate, and the check would repeat the previous one.
	cfg := p.tlsConfig.Clone()
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return p.expectHandshakeFailure(ctx, check, cfg)
}

func (p *prober) expectHandshakeFailure(ctx context.Context, check string, cfg *tls.Config) Result {
	resp, err := p.do(ctx, newHTTPClient(cfg, p.cfg.Timeout), http.MethodGet, p.url("/v1/status/leader"), "", nil)
	if err == nil {
		return fail(check, "Consul accepted the connection: "+resp.evidence(p))
	}
	return pass(check, "handshake failed: "+p.errEvidence(err))
}

// checkUntrustedServer points the registry client that services use at an
// impostor whose certificate names Consul's host but chains to another CA.
// The client must end the handshake before it sends a request.
func (p *prober) checkUntrustedServer(_ context.Context) Result {
	const check = "registry client rejects untrusted server"
	host, _, _ := net.SplitHostPort(p.cfg.Address)
	imp, err := startImpostor(host, p.cfg.ServerName)
	if err != nil {
		return fail(check, err.Error())
	}
	defer imp.close()

	// The token is a placeholder: the impostor must never receive a request.
	client, err := registry.NewConsulClient(imp.address(), p.tlsConfig.Clone(), "verify-placeholder-token")
	if err != nil {
		return fail(check, "the registry client rejected the configuration: "+err.Error())
	}
	_, lookupErr := client.GetService("consul")
	if n := imp.requests.Load(); n > 0 || lookupErr == nil {
		return fail(check, fmt.Sprintf("the registry client sent %d requests to a server with an untrusted "+
			"certificate (lookup error: %v)", n, lookupErr))
	}
	return pass(check, "handshake failed: "+p.errEvidence(lookupErr))
}

// checkAnonymousRegistration registers a probe service without a token.
func (p *prober) checkAnonymousRegistration(ctx context.Context) Result {
	return p.expectRegistrationRejected(ctx, "anonymous registration rejected", "")
}

// expectRegistrationRejected registers the probe service with token, expects
// a 403, and removes the probe if Consul accepted it.
func (p *prober) expectRegistrationRejected(ctx context.Context, check, token string) Result {
	id := probeID()
	body := map[string]any{"ID": id, "Name": probeName, "Address": "127.0.0.1", "Port": 1}
	resp, err := p.do(ctx, p.client, http.MethodPut, p.url("/v1/agent/service/register"), token, body)
	if err != nil {
		return fail(check, "the check could not run: "+p.errEvidence(err))
	}
	switch resp.status {
	case http.StatusForbidden:
		return pass(check, resp.evidence(p))
	case http.StatusOK:
		_, _ = p.do(ctx, p.client, http.MethodPut, p.url("/v1/agent/service/deregister/"+id), token, nil)
		return fail(check, fmt.Sprintf("Consul registered %s (removed again): %s", id, resp.evidence(p)))
	default:
		return fail(check, "Consul did not reject the registration with 403: "+resp.evidence(p))
	}
}

// checkAnonymousKV writes the probe key without a token.
func (p *prober) checkAnonymousKV(ctx context.Context) Result {
	return p.expectKVWriteRejected(ctx, "anonymous KV write rejected", "")
}

// expectKVWriteRejected writes the probe key with token, expects a 403, and
// deletes the key if Consul accepted it.
func (p *prober) expectKVWriteRejected(ctx context.Context, check, token string) Result {
	url := p.url("/v1/kv/" + probeName)
	resp, err := p.do(ctx, p.client, http.MethodPut, url, token, "probe")
	if err != nil {
		return fail(check, "the check could not run: "+p.errEvidence(err))
	}
	switch resp.status {
	case http.StatusForbidden:
		return pass(check, resp.evidence(p))
	case http.StatusOK:
		_, _ = p.do(ctx, p.client, http.MethodDelete, url, token, nil)
		return fail(check, "Consul stored the probe key (deleted again): "+resp.evidence(p))
	default:
		return fail(check, "Consul did not reject the write with 403: "+resp.evidence(p))
	}
}

// checkAnonymousRead lists the catalog without a token. With ACL default
// policy deny, the anonymous token can read no service.
func (p *prober) checkAnonymousRead(ctx context.Context) Result {
	const check = "anonymous catalog read returns nothing"
	resp, err := p.do(ctx, p.client, http.MethodGet, p.url("/v1/catalog/services"), "", nil)
	if err != nil {
		return fail(check, "the check could not run: "+p.errEvidence(err))
	}
	if resp.status == http.StatusForbidden {
		return pass(check, resp.evidence(p))
	}
	if resp.status != http.StatusOK {
		return fail(check, "unexpected response: "+resp.evidence(p))
	}
	var services map[string][]string
	if err := json.Unmarshal(resp.body, &services); err != nil {
		return fail(check, "the response is not a service list: "+resp.evidence(p))
	}
	if len(services) > 0 {
		return fail(check, fmt.Sprintf("the anonymous token can read %d services: %s", len(services), resp.evidence(p)))
	}
	return pass(check, "HTTP 200 with an empty service list")
}

// authorization is one entry of Consul's /v1/internal/acl/authorize API.
type authorization struct {
	Resource string
	Segment  string `json:",omitempty"`
	Access   string
	Allow    bool `json:",omitempty"`
}

// authorize queries Consul for which of the requested accesses token has. The API
// changes nothing, so it can check names that a real write must not touch.
func (p *prober) authorize(ctx context.Context, token string, requests []authorization) ([]authorization, error) {
	resp, err := p.do(ctx, p.client, http.MethodPost, p.url("/v1/internal/acl/authorize"), token, requests)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.evidence(p))
	}
	var decisions []authorization
	if err := json.Unmarshal(resp.body, &decisions); err != nil || len(decisions) != len(requests) {
		return nil, fmt.Errorf("unexpected response: %s", resp.evidence(p))
	}
	return decisions, nil
}

// describe lists authorizations as "service:write on orders allowed".
func describe(decisions []authorization) string {
	parts := make([]string, 0, len(decisions))
	for _, a := range decisions {
		verdict := "denied"
		if a.Allow {
			verdict = "allowed"
		}
		target := a.Resource + ":" + a.Access
		if a.Segment != "" {
			target += " on " + a.Segment
		}
		parts = append(parts, target+" "+verdict)
	}
	return strings.Join(parts, ", ")
}
