package boot

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validEnv returns a complete environment whose files exist in a temporary
// directory. The secret-id file contains secretValue.
func validEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return map[string]string{
		EnvVaultAddr:          "https://127.0.0.1:8200",
		EnvConsulAddr:         "127.0.0.1:8501",
		EnvCAFile:             file("ca.pem", "ca"),
		EnvRoleIDFile:         file("role-id", "role"),
		EnvSecretIDFile:       file("secret-id", secretValue),
		EnvAuthzFile:          file("authz.yaml", "services: []"),
		EnvAdminListen:        "127.0.0.1:9102",
		EnvDataDir:            filepath.Join(dir, "data"),
		EnvGatewayTLSCertFile: file("public.pem", "cert"),
		EnvGatewayTLSKeyFile:  file("public-key.pem", "key"),
	}
}

const secretValue = "s3cr3t-secret-id-value"

func getenv(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestLoadEnvValid(t *testing.T) {
	m := validEnv(t)
	m[EnvListen] = "127.0.0.1:0"
	m[EnvLogLevel] = "debug"
	env, err := LoadEnv(getenv(m), Options{DataDir: true, Gateway: true})
	if err != nil {
		t.Fatalf("LoadEnv: %v", err)
	}
	if env.BrokerListen != "127.0.0.1:0" {
		t.Errorf("BrokerListen = %q, want the host of BULWARK_LISTEN with port 0", env.BrokerListen)
	}
	if env.GatewayListen != DefaultGatewayListen {
		t.Errorf("GatewayListen = %q, want %q", env.GatewayListen, DefaultGatewayListen)
	}
	if env.LogLevel != slog.LevelDebug {
		t.Errorf("LogLevel = %v, want debug", env.LogLevel)
	}
	if env.DataDir != m[EnvDataDir] {
		t.Errorf("DataDir = %q, want %q", env.DataDir, m[EnvDataDir])
	}
}

func TestLoadEnvDefaults(t *testing.T) {
	env, err := LoadEnv(getenv(validEnv(t)), Options{})
	if err != nil {
		t.Fatalf("LoadEnv: %v", err)
	}
	if env.Listen != ":0" || env.BrokerListen != ":0" {
		t.Errorf("Listen, BrokerListen = %q, %q; want :0 and :0", env.Listen, env.BrokerListen)
	}
	if env.DataDir != "" || env.GatewayListen != "" {
		t.Errorf("DataDir, GatewayListen = %q, %q; want both empty without the options", env.DataDir, env.GatewayListen)
	}
}

func TestLoadEnvListsEveryMissingVariable(t *testing.T) {
	_, err := LoadEnv(getenv(nil), Options{DataDir: true, Gateway: true})
	if err == nil {
		t.Fatal("LoadEnv of an empty environment returned no error")
	}
	for _, name := range []string{EnvVaultAddr, EnvConsulAddr, EnvCAFile, EnvRoleIDFile, EnvSecretIDFile,
		EnvAuthzFile, EnvAdminListen, EnvDataDir, EnvGatewayTLSCertFile, EnvGatewayTLSKeyFile} {
		if !strings.Contains(err.Error(), name+": missing") {
			t.Errorf("error does not report %s as missing:\n%v", name, err)
		}
	}
}

func TestLoadEnvRejectsInvalidValues(t *testing.T) {
	tests := []struct {
		desc, name, value, want string
	}{
		{"plaintext Vault", EnvVaultAddr, "http://127.0.0.1:8200", "use https://127.0.0.1:8200"},
		{"Consul with scheme", EnvConsulAddr, "https://127.0.0.1:8501", `use "127.0.0.1:8501"`},
		{"missing CA file", EnvCAFile, "/nonexistent/ca.pem", `file "/nonexistent/ca.pem" cannot be read`},
		{"directory as file", EnvAuthzFile, os.TempDir(), "is not a regular file"},
		{"missing rate-limit file", EnvRateLimitFile, "/nonexistent/rl.yaml", "cannot be read"},
		{"admin without port", EnvAdminListen, "127.0.0.1", "is not host:port"},
		{"bad log level", EnvLogLevel, "verbose", "use debug, info, warn or error"},
		{"data dir is a file", EnvDataDir, "", "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m := validEnv(t)
			m[tt.name] = tt.value
			if tt.name == EnvDataDir {
				m[tt.name] = m[EnvCAFile]
			}
			_, err := LoadEnv(getenv(m), Options{DataDir: true})
			if err == nil {
				t.Fatalf("LoadEnv with %s=%q returned no error", tt.name, m[tt.name])
			}
			if !strings.Contains(err.Error(), tt.name) {
				t.Errorf("error does not name %s:\n%v", tt.name, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not contain %q:\n%v", tt.want, err)
			}
		})
	}
}

func TestLoadEnvUnreadableSecretFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files of any mode")
	}
	m := validEnv(t)
	if err := os.Chmod(m[EnvSecretIDFile], 0o000); err != nil {
		t.Fatal(err)
	}
	_, err := LoadEnv(getenv(m), Options{})
	if err == nil {
		t.Fatal("LoadEnv accepted an unreadable secret-id file")
	}
	if !strings.Contains(err.Error(), EnvSecretIDFile) || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("error does not name the variable and the cause:\n%v", err)
	}
}

func TestLoadEnvErrorHasNoSecret(t *testing.T) {
	m := validEnv(t)
	m[EnvVaultAddr] = "http://127.0.0.1:8200"
	m[EnvLogLevel] = "loud"
	_, err := LoadEnv(getenv(m), Options{})
	if err == nil {
		t.Fatal("LoadEnv returned no error")
	}
	if strings.Contains(err.Error(), secretValue) {
		t.Errorf("error contains the secret-id value:\n%v", err)
	}
}

func TestLimitEnvironDropsFileVariable(t *testing.T) {
	got := limitEnviron([]string{EnvRateLimitFile + "=/etc/rl.yaml", "BULWARK_RATELIMIT_GATEWAY_IP=5/s burst 5", "HOME=/root"})
	want := []string{"BULWARK_RATELIMIT_GATEWAY_IP=5/s burst 5", "HOME=/root"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("limitEnviron = %q, want %q", got, want)
	}
}
