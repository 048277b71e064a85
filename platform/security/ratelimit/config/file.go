package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds the configuration file, which is read whole.
const maxFileSize = 1 << 20

// file is the YAML document as written: every value is text, so that the
// file and the environment overrides go through the same parsers and their
// errors name the setting the same way.
type file struct {
	Handler    handlerSection    `yaml:"handler"`
	Subscriber subscriberSection `yaml:"subscriber"`
	Client     *clientSection    `yaml:"client"`
	Gateway    gatewaySection    `yaml:"gateway"`
	Store      storeSection      `yaml:"store"`
}

type handlerSection struct {
	Default   string                       `yaml:"default"`
	Anonymous string                       `yaml:"anonymous"`
	Endpoints map[string]string            `yaml:"endpoints"`
	Callers   map[string]string            `yaml:"callers"`
	Pairs     map[string]map[string]string `yaml:"pairs"`
}

type subscriberSection struct {
	Default string            `yaml:"default"`
	MaxWait string            `yaml:"max_wait"`
	Topics  map[string]string `yaml:"topics"`
}

type clientSection struct {
	Default   string            `yaml:"default"`
	MaxWait   string            `yaml:"max_wait"`
	Services  map[string]string `yaml:"services"`
	Endpoints map[string]string `yaml:"endpoints"`
}

type gatewaySection struct {
	Default         string            `yaml:"default"`
	Client          string            `yaml:"client"`
	IP              string            `yaml:"ip"`
	Routes          map[string]string `yaml:"routes"`
	GlobalRoutes    map[string]string `yaml:"global_routes"`
	TrustedProxies  []string          `yaml:"trusted_proxies"`
	ForwardedHeader string            `yaml:"forwarded_header"`
	IPv6Prefix      string            `yaml:"ipv6_prefix"`
	Headers         string            `yaml:"headers"`
	Login           loginSection      `yaml:"login"`
}

type loginSection struct {
	// Username is the setting that UsernameIP and UsernameFailures
	// replaced. It is read only to reject it with the fix.
	Username         string `yaml:"username"`
	UsernameIP       string `yaml:"username_ip"`
	UsernameFailures string `yaml:"username_failures"`
	IP               string `yaml:"ip"`
}

type storeSection struct {
	Backend       string       `yaml:"backend"`
	MaxKeys       string       `yaml:"max_keys"`
	SweepInterval string       `yaml:"sweep_interval"`
	Redis         redisSection `yaml:"redis"`
}

type redisSection struct {
	Addr          string `yaml:"addr"`
	Username      string `yaml:"username"`
	PasswordFile  string `yaml:"password_file"`
	Prefix        string `yaml:"prefix"`
	Timeout       string `yaml:"timeout"`
	OnError       string `yaml:"on_error"`
	RetryInterval string `yaml:"retry_interval"`
	TLS           string `yaml:"tls"`
	ServerName    string `yaml:"server_name"`
}

// readFile parses the YAML file at path. Unknown fields are errors, so a
// misspelt setting is reported instead of silently left at its default.
// An empty path means no file: every setting takes its default or its
// environment override.
func readFile(path string) (*file, []byte, error) {
	var f file
	if path == "" {
		return &f, nil, nil
	}
	handle, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("ratelimit/config: %w", err)
	}
	defer handle.Close()
	data, err := io.ReadAll(io.LimitReader(handle, maxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("ratelimit/config: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, nil, fmt.Errorf("ratelimit/config: %s is larger than %d bytes", path, maxFileSize)
	}
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	if err := decoder.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("ratelimit/config: parse %s: %w", path, err)
	}
	return &f, data, nil
}
