package boot_test

import (
	"path/filepath"
	"testing"

	gserver "github.com/go-micro/plugins/v4/server/grpc"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit/config"
	"github.com/bulwark-go/bulwark/services/gateway/httpapi"
	inventoryhandler "github.com/bulwark-go/bulwark/services/inventory/handler"
	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
	ordershandler "github.com/bulwark-go/bulwark/services/orders/handler"
	usershandler "github.com/bulwark-go/bulwark/services/users/handler"
)

// endpointsOf returns the go-micro endpoint names of a handler type.
func endpointsOf(h any) []string {
	var names []string
	for _, e := range gserver.NewServer().NewHandler(h).Endpoints() {
		names = append(names, e.Name)
	}
	return names
}

// TestRateLimitFilesLoad loads each service's file in infra/ratelimit with
// the endpoints, topics and routes the service really has, as the service
// does at start.
func TestRateLimitFilesLoad(t *testing.T) {
	tests := []struct {
		service string
		opts    config.LoadOptions
	}{
		{"gateway", config.LoadOptions{Endpoints: []string{}, Topics: []string{}, Routes: httpapi.Routes()}},
		{"users", config.LoadOptions{Endpoints: endpointsOf(&usershandler.Users{}), Topics: []string{}}},
		{"orders", config.LoadOptions{Endpoints: endpointsOf(&ordershandler.Orders{}), Topics: []string{}}},
		{"inventory", config.LoadOptions{Endpoints: endpointsOf(&inventoryhandler.Inventory{}),
			Topics: []string{ordersapi.TopicOrderPlaced, ordersapi.TopicOrderCancelled}}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			if len(tt.opts.Endpoints) == 0 && tt.service != "gateway" {
				t.Fatalf("no endpoints found on the %s handler", tt.service)
			}
			tt.opts.Service = tt.service
			tt.opts.Environ = []string{}
			path := filepath.Join("..", "..", "..", "infra", "ratelimit", tt.service+".yaml")
			settings, err := config.Load(path, tt.opts)
			if err != nil {
				t.Fatalf("load %s: %v", path, err)
			}
			if !settings.Handler.Rules.Anonymous.IsZero() {
				t.Error("handler.anonymous is a limit; calls without a verified identity must be rejected")
			}
		})
	}
}
