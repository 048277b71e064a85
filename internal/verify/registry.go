package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	regverify "github.com/bulwark-go/bulwark/platform/security/registry/verify"
)

// services returns the names of the services whose AppRole credentials are
// in the state directory.
func (t *target) services() ([]string, error) {
	entries, err := os.ReadDir(t.layout.ServicesDir)
	if err != nil {
		return nil, fmt.Errorf("verify: list the AppRoles in BULWARK_STATE_DIR: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("verify: %s contains no service credentials; is BULWARK_STATE_DIR the bootstrap state?", t.layout.ServicesDir)
	}
	return names, nil
}

// checkRegistry runs the Consul checks of platform/security/registry/verify
// with a Consul token of every service, read from Vault with the service's
// AppRole. The tokens go to 0600 files in a private temporary directory,
// removed when the checks end.
func (t *target) checkRegistry(ctx context.Context) []Result {
	const group = "registry"
	names, err := t.services()
	if err != nil {
		return []Result{fail(group, "service tokens obtained", err.Error())}
	}
	dir, err := os.MkdirTemp("", "bulwark-verify-")
	if err != nil {
		return []Result{fail(group, "service tokens obtained", "create a temporary directory: "+err.Error())}
	}
	defer os.RemoveAll(dir)

	var results []Result
	files := map[string]string{}
	for _, name := range names {
		token, err := t.serviceConsulToken(ctx, name)
		if err != nil {
			results = append(results, fail(group, "Consul token of "+name+" obtained", err.Error()))
			continue
		}
		path := filepath.Join(dir, name+".token")
		if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
			results = append(results, fail(group, "Consul token of "+name+" obtained", err.Error()))
			continue
		}
		files[name] = path
	}

	found, err := regverify.Run(ctx, regverify.Config{
		Address:       t.env.ConsulAddr,
		CAFile:        t.env.ConsulCAFile,
		CertFile:      t.env.ConsulCertFile,
		KeyFile:       t.env.ConsulKeyFile,
		ServiceTokens: files,
		Timeout:       t.timeout,
	})
	if err != nil {
		return append(results, fail(group, "registry checks ran", t.errText(err)))
	}
	for _, r := range found {
		results = append(results, Result{Group: group, Check: r.Check, Pass: r.Status == regverify.Pass,
			Evidence: t.clean(r.Evidence)})
	}
	return results
}
