package verify

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-go/bulwark/platform/security/authz"
)

// table is the authorization table the services enforce, with the list of
// endpoints per service, which authz.Policy does not expose.
type table struct {
	policy    *authz.Policy
	endpoints map[string][]string // service -> sorted endpoints
}

// loadTable reads the authorization file with authz.Parse, which validates
// it as the services do, and lists its endpoints.
func loadTable(path string) (*table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verify: read the authorization table: %w", err)
	}
	policy, err := authz.Parse(path, data)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	var file struct {
		Endpoints map[string]map[string][]string `yaml:"endpoints"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("verify: parse %s: %w", path, err)
	}
	t := &table{policy: policy, endpoints: map[string][]string{}}
	for service, endpoints := range file.Endpoints {
		for endpoint := range endpoints {
			t.endpoints[service] = append(t.endpoints[service], endpoint)
		}
		slices.Sort(t.endpoints[service])
	}
	return t, nil
}

// deniedCall returns an endpoint of service and a caller among callers that
// the table does not allow to call it. It prefers a caller that may call
// another endpoint of the service, because that attack is the closest to a
// real one. ok is false when the table lists no endpoint of service.
func (t *table) deniedCall(service string, callers []string) (endpoint, caller string, ok bool) {
	endpoints := t.endpoints[service]
	var fallback [2]string
	for _, e := range endpoints {
		for _, c := range callers {
			if c == service || t.policy.AllowCall(c, service, e) == nil {
				continue
			}
			if t.mayCallAny(c, service) {
				return e, c, true
			}
			if fallback[0] == "" {
				fallback = [2]string{e, c}
			}
		}
	}
	return fallback[0], fallback[1], fallback[0] != ""
}

func (t *table) mayCallAny(caller, service string) bool {
	for _, e := range t.endpoints[service] {
		if t.policy.AllowCall(caller, service, e) == nil {
			return true
		}
	}
	return false
}

// grpcMethod returns the gRPC method path of a go-micro endpoint
// "Handler.Method" served by service: "/service.Handler/Method".
func grpcMethod(service, endpoint string) string {
	handler, method, _ := strings.Cut(endpoint, ".")
	return "/" + service + "." + handler + "/" + method
}
