package bootstrap

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"slices"
)

// gossipKeyBytes is the length of the Serf gossip encryption key: 32 bytes
// selects AES-256, the longest key Consul accepts.
const gossipKeyBytes = 32

// Certs runs the first phase: the root CA, server and client certificates,
// the gateway's public certificate, the Redis server certificate, the gossip
// key and the Consul and Vault configuration fragments. It needs no running
// server.
func Certs(ctx context.Context, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	rec := &recorder{out: cfg.Report, log: cfg.Log}
	l := NewLayout(cfg.StateDir)
	now := cfg.Now()
	cfg.Log.Info("bootstrap phase started", "phase", "certs", "state_dir", cfg.StateDir)

	for _, dir := range []string{l.Root, l.ConsulDir, l.ConsulDataDir, l.VaultDir, l.VaultDataDir, l.ServicesDir, l.GatewayDir, l.RedisDir} {
		if err := ensureDir(dir, modeSecretDir); err != nil {
			return rec.result, fail("state-dir", err, "check that the state directory is writable")
		}
	}
	ca, err := ensureRootCA(l, now, rec)
	if err != nil {
		return rec.result, err
	}
	for _, c := range []struct {
		step, cert, key string
		spec            certSpec
	}{
		{"consul-server-cert", l.ConsulCert, l.ConsulKey, consulServerSpec(cfg)},
		{"vault-server-cert", l.VaultCert, l.VaultKey, vaultServerSpec(cfg)},
		{"consul-engine-cert", l.EngineCert, l.EngineKey, clientSpec("vault-consul-secrets-engine", cfg)},
		{"operator-cert", l.OperatorCert, l.OperatorKey, clientSpec("bulwark-operator", cfg)},
		{"gateway-public-cert", l.GatewayCert, l.GatewayKey, gatewayPublicSpec(cfg)},
		{"redis-server-cert", l.RedisCert, l.RedisKey, redisServerSpec(cfg)},
	} {
		if err := ctx.Err(); err != nil {
			return rec.result, err
		}
		if err := ensureCert(c.step, ca, c.spec, c.cert, c.key, now, rec); err != nil {
			return rec.result, err
		}
	}
	gossipKey, err := ensureGossipKey(l.ConsulGossipKey, rec)
	if err != nil {
		return rec.result, err
	}
	if err := writeFragments(cfg, gossipKey, rec); err != nil {
		return rec.result, err
	}
	rec.summarize("certs")
	cfg.Log.Info("bootstrap phase finished", "phase", "certs", "changes", rec.result.Count())
	return rec.result, nil
}

// consulServerSpec names the Consul server. verify_server_hostname requires
// server.<datacenter>.<domain>; clients reach the API as localhost,
// 127.0.0.1 or the compose host name consul.
func consulServerSpec(cfg Config) certSpec {
	serverName := "server." + cfg.Consul.Datacenter + "." + cfg.Consul.Domain
	names := uniqueNames(append([]string{serverName, "localhost", "consul"}, cfg.Consul.Hosts...))
	return certSpec{
		commonName: serverName,
		dnsNames:   names,
		ips:        serverIPs(cfg.Consul.BindAddr, cfg.Consul.ClientAddr),
		// Consul servers also dial each other for RPC, so they present
		// this certificate as clients too.
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		ttl:    cfg.ServerCertTTL,
	}
}

// vaultServerSpec names the Vault server: localhost, 127.0.0.1 and the
// compose host name vault.
func vaultServerSpec(cfg Config) certSpec {
	host, _, _ := net.SplitHostPort(cfg.Vault.ListenAddr)
	names := uniqueNames(append([]string{"vault", "localhost"}, cfg.Vault.Hosts...))
	return certSpec{
		commonName: "vault",
		dnsNames:   names,
		ips:        serverIPs(host),
		usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		ttl:        cfg.ServerCertTTL,
	}
}

// gatewayPublicSpec names the gateway's public HTTPS listener: localhost,
// 127.0.0.1 and ::1 for native mode, plus cfg.GatewayHosts (for compose,
// "gateway").
func gatewayPublicSpec(cfg Config) certSpec {
	return certSpec{
		commonName: "gateway",
		dnsNames:   uniqueNames(append([]string{"localhost"}, cfg.GatewayHosts...)),
		ips:        []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback},
		usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		ttl:        cfg.ServerCertTTL,
	}
}

// redisServerSpec names the Redis server's TLS listener: localhost,
// 127.0.0.1 and ::1 for native mode, plus cfg.RedisHosts (for compose,
// "redis" and its network address). A host that parses as an IP address
// becomes an IP SAN, anything else a DNS SAN.
func redisServerSpec(cfg Config) certSpec {
	names := []string{"localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	for _, host := range cfg.RedisHosts {
		ip := net.ParseIP(host)
		if ip == nil {
			names = append(names, host)
			continue
		}
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		if !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	return certSpec{
		commonName: "redis",
		dnsNames:   uniqueNames(names),
		ips:        ips,
		usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		ttl:        cfg.ServerCertTTL,
	}
}

// clientSpec describes a client certificate with no names besides its
// subject: Consul's verify_incoming checks only the chain.
func clientSpec(commonName string, cfg Config) certSpec {
	return certSpec{
		commonName: commonName,
		usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ttl:        cfg.ServerCertTTL,
	}
}

// serverIPs returns 127.0.0.1 and every given address that is a specific
// IP, without duplicates.
func serverIPs(addrs ...string) []net.IP {
	ips := []net.IP{net.IPv4(127, 0, 0, 1).To4()}
	for _, addr := range addrs {
		ip := net.ParseIP(addr)
		if ip == nil || ip.IsUnspecified() {
			continue
		}
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		if !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	return ips
}

func uniqueNames(names []string) []string {
	var out []string
	for _, name := range names {
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// ensureGossipKey returns the gossip encryption key, creating the key file
// when it is missing. An existing key is kept, because changing it splits
// the cluster until every member has the new key.
func ensureGossipKey(path string, rec *recorder) (string, error) {
	const step = "consul-gossip-key"
	if _, err := os.Stat(path); err == nil {
		key, err := readSecretFile(path)
		if err != nil {
			return "", fail(step, err, "")
		}
		raw, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(raw) != gossipKeyBytes {
			return "", fail(step, fmt.Errorf("gossip key file %s does not hold %d base64-encoded bytes", path, gossipKeyBytes),
				"delete the file to generate a new key, then restart every Consul agent")
		}
		rec.record(step, path, Unchanged)
		return key, nil
	}
	raw := make([]byte, gossipKeyBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fail(step, fmt.Errorf("generate gossip key: %w", err), "")
	}
	key := base64.StdEncoding.EncodeToString(raw)
	if err := writeFile(path, []byte(key+"\n"), modeSecretFile); err != nil {
		return "", fail(step, err, "check that the state directory is writable")
	}
	rec.record(step, path, Created)
	return key, nil
}
