package boot

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// HealthcheckTimeout bounds the readiness request of Healthcheck.
const HealthcheckTimeout = 2 * time.Second

// Healthcheck requests /readyz on BULWARK_ADMIN_LISTEN and returns 0 when it
// answers 200, and 1 otherwise, writing the reason to out. A listen address
// without a host, or with an unspecified one such as 0.0.0.0, is reached on
// 127.0.0.1. Container health checks run the binary with the argument
// healthcheck, which calls this, so images need no shell or curl.
func Healthcheck(getenv func(string) string, out io.Writer) int {
	url, err := readyzURL(getenv(EnvAdminListen))
	if err != nil {
		fmt.Fprintf(out, "healthcheck: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), HealthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(out, "healthcheck: %v\n", err)
		return 1
	}
	// No proxy: the admin listener is local, and HTTP_PROXY must not
	// send the probe elsewhere.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	rsp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(out, "healthcheck: GET %s failed: %v\n", url, err)
		return 1
	}
	defer rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK {
		fmt.Fprintf(out, "healthcheck: GET %s returned %s\n", url, rsp.Status)
		return 1
	}
	return 0
}

// readyzURL returns the /readyz URL of the admin listen address.
func readyzURL(listen string) (string, error) {
	if listen == "" {
		return "", fmt.Errorf("%s is not set; set it to the admin listener's host:port", EnvAdminListen)
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("%s %q is not host:port with a fixed port", EnvAdminListen, listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
