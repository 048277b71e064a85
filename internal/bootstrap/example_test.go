package bootstrap_test

import (
	"context"
	"fmt"
	"os"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

// ExampleCerts runs the first phase twice: the second run finds every file
// in place and changes nothing.
func ExampleCerts() {
	state, err := os.MkdirTemp("", "bulwark-state-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(state)

	cfg := bootstrap.Config{StateDir: state, Consul: bootstrap.ConsulSettings{Hosts: []string{"consul.example"}}}
	first, err := bootstrap.Certs(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	second, err := bootstrap.Certs(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("first run changes:", first.Count())
	fmt.Println("second run changed anything:", second.Changed())
	// Output:
	// first run changes: 10
	// second run changed anything: false
}
