package config_test

import (
	"fmt"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit/config"
)

// Example loads the example file with one override from the environment.
func Example() {
	settings, err := config.Load("testdata/ratelimit.yaml", config.LoadOptions{
		Service:   "orders",
		Endpoints: []string{"Orders.Create", "Orders.Get"},
		Topics:    []string{"order.created"},
		Routes:    []string{"POST /v1/orders"},
		Environ:   []string{"BULWARK_RATELIMIT_HANDLER_ENDPOINT_ORDERS_GET=20/s burst 10"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rules := settings.Handler.Rules
	fmt.Println(rules.Lookup("Orders.Create", "gateway"))
	fmt.Println(rules.Lookup("Orders.Create", "users"))
	fmt.Println(rules.Lookup("Orders.Get", "users"))
	fmt.Println(settings.Gateway.Login.UsernameIP)
	fmt.Println(settings.Gateway.Login.UsernameFailures)
	// Output:
	// 50/s burst 20
	// 10/s burst 5
	// 20/s burst 10
	// 5/m burst 5
	// 30/h burst 10
}
