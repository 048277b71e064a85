//go:build tools

// Package consul pins the Consul server release that tools/servers/ensure.sh
// builds. The blank import keeps go.mod and go.sum tidy, and the build tag
// keeps this file out of every build.
package consul

import _ "github.com/hashicorp/consul"
