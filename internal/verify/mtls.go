package verify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// jsonCodec lets a plain gRPC client speak the JSON codec of go-micro's
// gRPC server (content type application/grpc+json).
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)   { return json.Marshal(v) }
func (jsonCodec) Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
func (jsonCodec) Name() string                    { return "json" }

// checkMTLS attacks every catalog instance: plaintext, TLS without a client
// certificate, a client certificate from a throwaway CA, and, for the gRPC
// services, a valid certificate of an identity the table denies.
func (t *target) checkMTLS(ctx context.Context, instances []instance, tbl *table) []Result {
	names, err := t.services()
	if err != nil {
		return []Result{fail("mtls", "AppRoles found", err.Error())}
	}
	var results []Result
	for _, inst := range instances {
		if inst.service == brokerService {
			results = append(results, t.checkBroker(ctx, inst, names)...)
			continue
		}
		results = append(results,
			t.checkGRPCPlaintext(ctx, inst),
			t.checkGRPCWithout(ctx, inst),
			t.checkGRPCThrowaway(ctx, inst),
			t.checkGRPCDenied(ctx, inst, tbl, names),
		)
	}
	return results
}

// outcome is the result of a gRPC call, judged as a connection attempt.
type outcome struct {
	err            error
	answered       bool // the server sent response headers or a status of its own
	serverVerified bool // the client accepted the server's certificate
}

// call invokes method on inst with creds and an empty JSON request.
func (t *target) call(ctx context.Context, inst instance, creds credentials.TransportCredentials, method string) outcome {
	conn, err := grpc.NewClient("passthrough:///"+inst.address,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{Timeout: t.timeout}).DialContext(ctx, "tcp", addr)
		}))
	if err != nil {
		return outcome{err: err}
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var header metadata.MD
	var rsp json.RawMessage
	err = conn.Invoke(ctx, method, map[string]any{}, &rsp, grpc.ForceCodec(jsonCodec{}), grpc.Header(&header))
	code := status.Code(err)
	answered := len(header) > 0 || (code != codes.Unavailable && code != codes.DeadlineExceeded)
	return outcome{err: err, answered: answered}
}

// probeMethod is the method the connection checks call. Any method works:
// the connection must fail before the server routes it.
func probeMethod(service string) string { return "/" + service + ".Verify/Probe" }

// judgeRejected turns an outcome into a result that passes when the server
// rejected the connection.
func (t *target) judgeRejected(check string, o outcome, tlsAttack bool) Result {
	if tlsAttack && !o.serverVerified {
		return fail("mtls", check, "the check could not run: the client rejected the server's certificate: "+t.errText(o.err))
	}
	if o.answered {
		got := "success"
		if o.err != nil {
			got = t.errText(o.err)
		}
		return fail("mtls", check, "the server accepted the connection and answered: "+got)
	}
	return pass("mtls", check, "connection rejected: "+t.errText(o.err))
}

func (t *target) checkGRPCPlaintext(ctx context.Context, inst instance) Result {
	o := t.call(ctx, inst, insecure.NewCredentials(), probeMethod(inst.service))
	return t.judgeRejected("plaintext gRPC rejected ("+inst.String()+")", o, false)
}

// attackTLS returns credentials that verify the server as inst's identity
// and record whether they accepted it, with client certificate cert (none
// when nil).
func (t *target) attackTLS(inst instance, cert *tls.Certificate, verified *atomic.Bool) credentials.TransportCredentials {
	cfg := t.tlsConfig(identity.DNSName(inst.service))
	cfg.VerifyConnection = func(tls.ConnectionState) error { verified.Store(true); return nil }
	if cert != nil {
		// GetClientCertificate sends the certificate even though its issuer
		// is not among the CAs the server names.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return credentials.NewTLS(cfg)
}

func (t *target) checkGRPCWithout(ctx context.Context, inst instance) Result {
	var verified atomic.Bool
	o := t.call(ctx, inst, t.attackTLS(inst, nil, &verified), probeMethod(inst.service))
	o.serverVerified = verified.Load()
	return t.judgeRejected("TLS without client certificate rejected ("+inst.String()+")", o, true)
}

func (t *target) checkGRPCThrowaway(ctx context.Context, inst instance) Result {
	check := "client certificate from a throwaway CA rejected (" + inst.String() + ")"
	cert, err := throwawayCertificate(inst.service)
	if err != nil {
		return fail("mtls", check, "make the certificate: "+err.Error())
	}
	var verified atomic.Bool
	o := t.call(ctx, inst, t.attackTLS(inst, &cert, &verified), probeMethod(inst.service))
	o.serverVerified = verified.Load()
	return t.judgeRejected(check, o, true)
}

// checkGRPCDenied calls an endpoint with a valid certificate, issued from
// Vault, of an identity the table does not allow, and expects
// PermissionDenied (go-micro's 403).
func (t *target) checkGRPCDenied(ctx context.Context, inst instance, tbl *table, names []string) Result {
	endpoint, caller, ok := tbl.deniedCall(inst.service, names)
	if !ok {
		return t.checkGRPCUnlisted(ctx, inst, names)
	}
	check := fmt.Sprintf("%s denied %s (%s)", caller, endpoint, inst.String())
	cert, err := t.certificate(ctx, caller)
	if err != nil {
		return fail("mtls", check, err.Error())
	}
	var verified atomic.Bool
	o := t.call(ctx, inst, t.attackTLS(inst, cert, &verified), grpcMethod(inst.service, endpoint))
	if code := status.Code(o.err); code != codes.PermissionDenied {
		return fail("mtls", check, fmt.Sprintf("want PermissionDenied, got %s: %s", code, t.errText(errOrNil(o.err))))
	}
	return pass("mtls", check, "PermissionDenied: "+t.errText(o.err))
}

// checkGRPCUnlisted covers a service with no endpoint in the table, such as
// the gateway: a valid certificate of another service must reach nothing.
// go-micro returns Unimplemented for an unknown handler before any
// wrapper runs, so Unimplemented passes as well as PermissionDenied.
func (t *target) checkGRPCUnlisted(ctx context.Context, inst instance, names []string) Result {
	caller := ""
	for _, n := range names {
		if n != inst.service {
			caller = n
			break
		}
	}
	check := fmt.Sprintf("%s reaches no endpoint of %s (%s)", caller, inst.service, inst.String())
	if caller == "" {
		return fail("mtls", check, "no other service has an AppRole in BULWARK_STATE_DIR")
	}
	cert, err := t.certificate(ctx, caller)
	if err != nil {
		return fail("mtls", check, err.Error())
	}
	var verified atomic.Bool
	o := t.call(ctx, inst, t.attackTLS(inst, cert, &verified), probeMethod(inst.service))
	switch code := status.Code(o.err); code {
	case codes.PermissionDenied, codes.Unimplemented:
		return pass("mtls", check, "the table lists no endpoint of "+inst.service+"; "+code.String()+": "+t.errText(o.err))
	default:
		return fail("mtls", check, fmt.Sprintf("want PermissionDenied or Unimplemented, got %s: %s", code, t.errText(errOrNil(o.err))))
	}
}

func errOrNil(err error) error {
	if err == nil {
		return fmt.Errorf("the call succeeded")
	}
	return err
}

// checkBroker attacks an HTTP broker subscription: plaintext HTTP, TLS
// without a client certificate, and a client certificate from a throwaway
// CA. Publishing rights come from the publisher's verified identity, which
// the broker checks against the table's topics.
func (t *target) checkBroker(ctx context.Context, inst instance, names []string) []Result {
	p := t.presentedChain(ctx, inst, nil)
	server := p.identity
	results := []Result{t.checkBrokerPlaintext(ctx, inst)}
	if p.err != nil || server == "" {
		reason := "no identity"
		if p.err != nil {
			reason = p.err.Error()
		}
		return append(results, fail("mtls", "broker TLS checks ran ("+inst.String()+")",
			"the broker's certificate could not be read: "+reason))
	}
	cert, err := throwawayCertificate(names[0])
	if err != nil {
		return append(results, fail("mtls", "broker TLS checks ran ("+inst.String()+")", err.Error()))
	}
	results = append(results,
		t.brokerTLS(ctx, inst, server, nil, "TLS without client certificate rejected ("+inst.String()+")"),
		t.brokerTLS(ctx, inst, server, &cert, "client certificate from a throwaway CA rejected ("+inst.String()+")"))
	return results
}

func (t *target) checkBrokerPlaintext(ctx context.Context, inst instance) Result {
	check := "plaintext HTTP rejected (" + inst.String() + ")"
	status, body, err := t.get(ctx, t.httpClient(nil), "http://"+inst.address+"/")
	if err != nil {
		return pass("mtls", check, "request failed: "+t.errText(err))
	}
	if status == http.StatusBadRequest && strings.Contains(body, "HTTPS server") {
		return pass("mtls", check, fmt.Sprintf("HTTP %d: %s", status, body))
	}
	return fail("mtls", check, fmt.Sprintf("the broker answered plain HTTP with HTTP %d: %s", status, t.clean(body)))
}

func (t *target) brokerTLS(ctx context.Context, inst instance, server string, cert *tls.Certificate, check string) Result {
	var verified atomic.Bool
	cfg := t.tlsConfig(identity.DNSName(server))
	cfg.VerifyConnection = func(tls.ConnectionState) error { verified.Store(true); return nil }
	if cert != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	status, body, err := t.get(ctx, t.httpClient(cfg), "https://"+inst.address+"/")
	if !verified.Load() {
		return fail("mtls", check, "the check could not run: the client rejected the broker's certificate: "+t.errText(errOrNil(err)))
	}
	if err == nil {
		return fail("mtls", check, fmt.Sprintf("the broker answered with HTTP %d: %s", status, t.clean(body)))
	}
	return pass("mtls", check, "connection rejected: "+t.errText(err))
}

// get sends one GET request and returns the status and the start of the body.
func (t *target) get(ctx context.Context, client *http.Client, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(body), nil
}
