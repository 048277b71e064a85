//go:build tools

// Package vault pins the Vault server release that tools/servers/ensure.sh
// builds. The blank import keeps go.mod and go.sum tidy, and the build tag
// keeps this file out of every build.
package vault

import _ "github.com/hashicorp/vault"
