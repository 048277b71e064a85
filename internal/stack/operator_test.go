package stack

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"
	consul "github.com/hashicorp/consul/api"
	vault "github.com/hashicorp/vault/api"
)

// operatorStack returns a stack whose servers are the test environment's.
func operatorStack(t *testing.T, env *testenv.Env) *stack {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	port := func(hostPort string) int {
		_, p, err := net.SplitHostPort(strings.TrimPrefix(hostPort, "https://"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	dir := filepath.Join(t.TempDir(), "stack")
	s := &stack{
		cfg:    Config{RepoRoot: root, Dir: dir}.withDefaults(),
		paths:  NewPaths(dir),
		ports:  Ports{ConsulHTTPS: port(env.ConsulAddr), Vault: port(env.VaultAddr)},
		layout: env.Layout,
	}
	if err := s.makeDirs(); err != nil {
		t.Fatal(err)
	}
	return s
}

func readToken(t *testing.T, path string) string {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %o, want 600", path, info.Mode().Perm())
	}
	token, err := readSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestOperatorTokensAreReadOnly(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	s := operatorStack(t, env)
	ctx := t.Context()
	if err := s.ensureOperatorTokens(ctx); err != nil {
		t.Fatal(err)
	}
	consulToken := readToken(t, s.paths.ConsulOperatorToken())
	vaultToken := readToken(t, s.paths.VaultOperatorToken())

	t.Run("second run keeps tokens", func(t *testing.T) {
		if err := s.ensureOperatorTokens(ctx); err != nil {
			t.Fatal(err)
		}
		if readToken(t, s.paths.ConsulOperatorToken()) != consulToken {
			t.Error("the Consul operator token changed")
		}
		if readToken(t, s.paths.VaultOperatorToken()) != vaultToken {
			t.Error("the Vault operator token changed")
		}
	})

	t.Run("consul", func(t *testing.T) {
		client, err := s.consulClient(consulToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := client.Catalog().Services(nil); err != nil {
			t.Errorf("read the catalog: %v", err)
		}
		if _, _, err := client.Catalog().Nodes(nil); err != nil {
			t.Errorf("read the nodes: %v", err)
		}
		denied := map[string]error{
			"register a service": client.Agent().ServiceRegister(&consul.AgentServiceRegistration{Name: "gateway", ID: "rogue-gateway"}),
		}
		_, denied["write a key"] = client.KV().Put(&consul.KVPair{Key: "bulwark/test", Value: []byte("x")}, nil)
		_, _, denied["list ACL tokens"] = client.ACL().TokenList(nil)
		_, _, denied["create an ACL token"] = client.ACL().TokenCreate(&consul.ACLToken{Description: "rogue"}, nil)
		for action, err := range denied {
			if err == nil || !strings.Contains(err.Error(), "403") {
				t.Errorf("%s with the operator token: error %v, want 403", action, err)
			}
		}
	})

	t.Run("vault", func(t *testing.T) {
		client, err := s.vaultClient(vaultToken)
		if err != nil {
			t.Fatal(err)
		}
		mounts, err := client.Sys().ListMountsWithContext(ctx)
		if err != nil {
			t.Fatalf("list mounts: %v", err)
		}
		if _, ok := mounts["pki_int/"]; !ok {
			t.Errorf("mounts %v lack pki_int/", mounts)
		}
		if _, err := client.Logical().ReadWithContext(ctx, "pki_int/roles/gateway"); err != nil {
			t.Errorf("read the gateway PKI role: %v", err)
		}
		if _, err := client.Logical().ReadWithContext(ctx, "auth/approle/role/gateway"); err != nil {
			t.Errorf("read the gateway AppRole: %v", err)
		}
		denied := map[string]error{}
		_, denied["issue a gateway certificate"] = client.Logical().WriteWithContext(ctx, "pki_int/issue/gateway",
			map[string]any{"common_name": "gateway.service.bulwark.internal"})
		_, denied["read a Consul token"] = client.Logical().ReadWithContext(ctx, "consul/creds/gateway")
		_, denied["read the Consul engine's access"] = client.Logical().ReadWithContext(ctx, "consul/config/access")
		_, denied["read a role_id"] = client.Logical().ReadWithContext(ctx, "auth/approle/role/gateway/role-id")
		_, denied["create a secret_id"] = client.Logical().WriteWithContext(ctx, "auth/approle/role/gateway/secret-id", nil)
		denied["write a policy"] = client.Sys().PutPolicyWithContext(ctx, "rogue", `path "*" { capabilities = ["sudo"] }`)
		_, denied["create a token"] = client.Auth().Token().CreateWithContext(ctx, &vault.TokenCreateRequest{Policies: []string{VaultOperatorPolicy}})
		for action, err := range denied {
			var response *vault.ResponseError
			if !errors.As(err, &response) || response.StatusCode != 403 {
				t.Errorf("%s with the operator token: error %v, want 403", action, err)
			}
		}
	})

	t.Run("revoked vault token is replaced", func(t *testing.T) {
		client, err := s.vaultClient(vaultToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.ensureOperatorTokens(ctx); err != nil {
			t.Fatal(err)
		}
		replaced := readToken(t, s.paths.VaultOperatorToken())
		if replaced == vaultToken {
			t.Fatal("a revoked token was kept")
		}
		client, err = s.vaultClient(replaced)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Auth().Token().LookupSelfWithContext(ctx); err != nil {
			t.Errorf("the new token does not work: %v", err)
		}
	})
}
