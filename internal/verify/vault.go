package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	vault "github.com/hashicorp/vault/api"
)

// checkVault checks that Vault rejects plain HTTP and that each service's
// AppRole token can reach none of another service's secrets.
func (t *target) checkVault(ctx context.Context) []Result {
	const group = "vault"
	results := []Result{t.checkVaultPlaintext(ctx)}
	names, err := t.services()
	if err != nil {
		return append(results, fail(group, "AppRoles found", err.Error()))
	}
	for i, name := range names {
		// Each service attacks the next one, so every AppRole is both
		// attacker and target once.
		victim := names[(i+1)%len(names)]
		if victim == name {
			break
		}
		results = append(results, t.checkCrossRead(ctx, name, victim))
	}
	return results
}

func (t *target) checkVaultPlaintext(ctx context.Context) Result {
	const check = "plaintext HTTP rejected"
	status, body, err := t.get(ctx, t.httpClient(nil), "http://"+t.vaultAddr+"/v1/sys/health")
	if err != nil {
		return pass("vault", check, "request failed: "+t.errText(err))
	}
	// Go's TLS server, which Vault uses, responds to a plaintext request with 400
	// "Client sent an HTTP request to an HTTPS server" and serves nothing.
	if status == http.StatusBadRequest && strings.Contains(body, "HTTPS server") {
		return pass("vault", check, fmt.Sprintf("HTTP %d: %s", status, body))
	}
	return fail("vault", check, fmt.Sprintf("Vault answered plain HTTP with HTTP %d: %s", status, t.clean(body)))
}

// secretPaths are the requests that would give a service another service's
// secrets: its AppRole credentials, its Consul token and its certificate.
func secretPaths(victim string) []struct{ method, path string } {
	return []struct{ method, path string }{
		{http.MethodGet, "auth/approle/role/" + victim + "/role-id"},
		{http.MethodPost, "auth/approle/role/" + victim + "/secret-id"},
		{http.MethodGet, "consul/creds/" + victim},
		{http.MethodPost, "pki_int/issue/" + victim},
	}
}

// checkCrossRead logs in as attacker and requests each of victim's secrets.
// Every request must end in 403, and any other outcome fails the check.
func (t *target) checkCrossRead(ctx context.Context, attacker, victim string) Result {
	check := fmt.Sprintf("AppRole of %s denied the secrets of %s", attacker, victim)
	c, err := t.vault(ctx, attacker)
	if err != nil {
		return fail("vault", check, err.Error())
	}
	api := c.API()
	var evidence []string
	for _, p := range secretPaths(victim) {
		var err error
		var secret *vault.Secret
		if p.method == http.MethodGet {
			secret, err = api.Logical().ReadWithContext(ctx, p.path)
		} else {
			body := map[string]any{}
			if p.path == "pki_int/issue/"+victim {
				body["common_name"] = victim + ".service.bulwark.internal"
			}
			secret, err = api.Logical().WriteWithContext(ctx, p.path, body)
		}
		var respErr *vault.ResponseError
		switch {
		case errors.As(err, &respErr) && respErr.StatusCode == http.StatusForbidden:
			evidence = append(evidence, p.path+": 403")
		case err != nil:
			return fail("vault", check, fmt.Sprintf("%s %s: %s", p.method, p.path, t.errText(err)))
		default:
			if secret != nil && secret.LeaseID != "" {
				t.secrets = append(t.secrets, secret.LeaseID)
			}
			return fail("vault", check, fmt.Sprintf("%s %s succeeded with the AppRole of %s", p.method, p.path, attacker))
		}
	}
	return pass("vault", check, strings.Join(evidence, ", "))
}
