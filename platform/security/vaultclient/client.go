package vaultclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	vault "github.com/hashicorp/vault/api"
)

// Client is a logged-in Vault client whose token is kept valid in the
// background until Close.
type Client struct {
	cfg   Config
	api   *vault.Client
	auth  authenticator
	log   *slog.Logger
	state tokenState

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New logs in to Vault with the AppRole credentials of cfg and starts
// renewing the token. It fails when the configuration is invalid or the
// first login fails, so that a service with wrong credentials stops at once
// rather than running without certificates. The background renewal stops
// when ctx is cancelled or Close is called.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	api, err := newAPIClient(cfg)
	if err != nil {
		return nil, err
	}
	c := newClient(cfg, api, &appRoleAuth{api: api, cfg: cfg})
	if err := c.login(ctx); err != nil {
		return nil, err
	}
	c.start(ctx)
	return c, nil
}

func newClient(cfg Config, api *vault.Client, auth authenticator) *Client {
	return &Client{
		cfg:  cfg,
		api:  api,
		auth: auth,
		log:  cfg.Logger.With("component", "vaultclient"),
		done: make(chan struct{}),
	}
}

// newAPIClient builds a Vault API client that trusts only cfg.CAFile. It sets
// every field itself, so VAULT_ADDR, VAULT_CACERT, VAULT_SKIP_VERIFY and the
// other VAULT_* variables that vault.DefaultConfig reads have no effect.
func newAPIClient(cfg Config) (*vault.Client, error) {
	roots, err := LoadCAFile(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	transport := cleanhttp.DefaultPooledTransport()
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	transport.TLSHandshakeTimeout = cfg.RequestTimeout
	transport.Proxy = nil
	httpClient := &http.Client{
		Transport: transport,
		// The Vault API client handles redirects itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	api, err := vault.NewClient(&vault.Config{
		Address:    cfg.Address,
		HttpClient: httpClient,
		Timeout:    cfg.RequestTimeout,
		MaxRetries: 2,
	})
	if err != nil {
		return nil, fmt.Errorf("vaultclient: create Vault client for %s: %w", cfg.Address, err)
	}
	// vault.NewClient picks up VAULT_TOKEN and VAULT_NAMESPACE from the
	// environment. The service authenticates only with its AppRole.
	api.ClearToken()
	api.ClearNamespace()
	return api, nil
}

// API returns the authenticated Vault API client. Its token changes in place
// at each login, so callers may keep the pointer. Requests made while Vault
// refuses the old token and before the next login fail with Vault's error.
func (c *Client) API() *vault.Client {
	return c.api
}

// TokenExpiry returns when the current Vault token expires.
func (c *Client) TokenExpiry() time.Time {
	return c.state.snapshot().expiry
}

// Close stops the background renewal. It does not revoke the token, which
// expires at the end of its TTL, so a restart with the same AppRole does not
// race a revocation.
func (c *Client) Close() {
	c.once.Do(func() {
		if c.cancel != nil {
			c.cancel()
			<-c.done
		}
	})
}

// authenticator performs the two Vault requests of the token lifecycle.
// Tests replace it with an in-memory fake.
type authenticator interface {
	// login returns a new token's auth block.
	login(ctx context.Context) (*vault.SecretAuth, error)
	// renewSelf renews the current token by increment and returns the
	// granted auth block.
	renewSelf(ctx context.Context, token string, increment time.Duration) (*vault.SecretAuth, error)
}

// appRoleAuth is the authenticator for a real Vault.
type appRoleAuth struct {
	api *vault.Client
	cfg Config
}

func (a *appRoleAuth) login(ctx context.Context) (*vault.SecretAuth, error) {
	log := a.cfg.Logger
	roleID, err := readSecretFile(a.cfg.RoleIDFile, "role_id", log)
	if err != nil {
		return nil, err
	}
	secretID, err := readSecretFile(a.cfg.SecretIDFile, "secret_id", log)
	if err != nil {
		return nil, err
	}
	// A clone without a token keeps the login request free of the old
	// token and leaves the shared client untouched until login succeeds.
	anon, err := cleanClone(a.api)
	if err != nil {
		return nil, err
	}
	path := "auth/" + trimSlashes(a.cfg.AuthMount) + "/login"
	secret, err := anon.Logical().WriteWithContext(ctx, path, map[string]any{
		"role_id":   roleID,
		"secret_id": secretID,
	})
	if err != nil {
		return nil, fmt.Errorf("vaultclient: AppRole login at %s%s: %w", a.cfg.Address, "/v1/"+path, err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, fmt.Errorf("vaultclient: AppRole login at %s returned no token", path)
	}
	return secret.Auth, nil
}

func (a *appRoleAuth) renewSelf(ctx context.Context, token string, increment time.Duration) (*vault.SecretAuth, error) {
	c, err := cleanClone(a.api)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	secret, err := c.Auth().Token().RenewSelfWithContext(ctx, int(increment.Seconds()))
	if err != nil {
		return nil, fmt.Errorf("vaultclient: renew Vault token: %w", err)
	}
	if secret == nil || secret.Auth == nil {
		return nil, errors.New("vaultclient: renewal of the Vault token returned no auth block")
	}
	return secret.Auth, nil
}

// cleanClone returns a copy of api without a token or namespace. Clone runs
// vault.NewClient again, which would pick up VAULT_TOKEN and VAULT_NAMESPACE.
func cleanClone(api *vault.Client) (*vault.Client, error) {
	c, err := api.Clone()
	if err != nil {
		return nil, fmt.Errorf("vaultclient: clone Vault client: %w", err)
	}
	c.ClearToken()
	c.ClearNamespace()
	return c, nil
}

func trimSlashes(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
