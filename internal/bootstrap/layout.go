package bootstrap

import "path/filepath"

// Layout names every file the bootstrap writes under a state directory.
// Directories holding secrets are mode 0700 and secret files mode 0600;
// certificates and the CA bundle are 0644.
type Layout struct {
	Root string

	// CACert is the root CA certificate: the trust bundle of the whole
	// chain. CAKey is its private key, which never leaves this directory.
	CACert, CAKey string

	ConsulDir, ConsulDataDir                string
	ConsulCert, ConsulKey, ConsulGossipKey  string
	ConsulFragment                          string
	ConsulManagementToken, ConsulAgentToken string

	VaultDir, VaultDataDir string
	VaultCert, VaultKey    string
	VaultFragment          string
	VaultUnsealKey         string
	VaultRootToken         string

	// EngineCert and EngineKey are the client certificate with which
	// Vault's Consul secrets engine calls Consul's HTTPS API.
	EngineCert, EngineKey string

	// OperatorCert and OperatorKey are a client certificate for people and
	// tests that talk to Consul directly.
	OperatorCert, OperatorKey string

	// GatewayDir contains the gateway's public TLS certificate
	// (GatewayCert) and its key (GatewayKey). The root CA signs it directly,
	// because Vault's intermediate may issue only names under the trust
	// domain, and clients reach the gateway as localhost or a compose host.
	GatewayDir, GatewayCert, GatewayKey string

	// RedisDir contains the Redis server's TLS certificate (RedisCert) and
	// its key (RedisKey), signed by the root CA. Services verify Redis
	// against the root CA and the host of their Redis address, which is
	// localhost, a loopback address or a compose host name, so the
	// certificate does not come from Vault's intermediate either.
	RedisDir, RedisCert, RedisKey string

	// ServicesDir contains one directory per service with its AppRole
	// credentials (see ServiceRoleID and ServiceSecretID).
	ServicesDir string
}

// NewLayout returns the layout of the state directory root.
func NewLayout(root string) Layout {
	consul := filepath.Join(root, "consul")
	vault := filepath.Join(root, "vault")
	operator := filepath.Join(root, "operator")
	gateway := filepath.Join(root, "gateway")
	redis := filepath.Join(root, "redis")
	return Layout{
		Root:                  root,
		CACert:                filepath.Join(root, "ca.pem"),
		CAKey:                 filepath.Join(root, "ca", "ca-key.pem"),
		ConsulDir:             consul,
		ConsulDataDir:         filepath.Join(consul, "data"),
		ConsulCert:            filepath.Join(consul, "server.pem"),
		ConsulKey:             filepath.Join(consul, "server-key.pem"),
		ConsulGossipKey:       filepath.Join(consul, "gossip.key"),
		ConsulFragment:        filepath.Join(consul, "local.hcl"),
		ConsulManagementToken: filepath.Join(consul, "management.token"),
		ConsulAgentToken:      filepath.Join(consul, "agent.token"),
		VaultDir:              vault,
		VaultDataDir:          filepath.Join(vault, "data"),
		VaultCert:             filepath.Join(vault, "server.pem"),
		VaultKey:              filepath.Join(vault, "server-key.pem"),
		VaultFragment:         filepath.Join(vault, "local.hcl"),
		VaultUnsealKey:        filepath.Join(vault, "unseal.key"),
		VaultRootToken:        filepath.Join(vault, "root.token"),
		EngineCert:            filepath.Join(vault, "consul-client.pem"),
		EngineKey:             filepath.Join(vault, "consul-client-key.pem"),
		OperatorCert:          filepath.Join(operator, "client.pem"),
		OperatorKey:           filepath.Join(operator, "client-key.pem"),
		GatewayDir:            gateway,
		GatewayCert:           filepath.Join(gateway, "public.pem"),
		GatewayKey:            filepath.Join(gateway, "public-key.pem"),
		RedisDir:              redis,
		RedisCert:             filepath.Join(redis, "server.pem"),
		RedisKey:              filepath.Join(redis, "server-key.pem"),
		ServicesDir:           filepath.Join(root, "services"),
	}
}

// ServiceDir is the directory of one service's credentials: the only part of
// the state directory that the service's process may read, besides CACert.
func (l Layout) ServiceDir(name string) string {
	return filepath.Join(l.ServicesDir, name)
}

// ServiceRoleID is the file containing the service's AppRole role_id.
func (l Layout) ServiceRoleID(name string) string {
	return filepath.Join(l.ServiceDir(name), "role-id")
}

// ServiceSecretID is the file containing the service's AppRole secret_id.
func (l Layout) ServiceSecretID(name string) string {
	return filepath.Join(l.ServiceDir(name), "secret-id")
}
