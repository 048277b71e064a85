// Added by Bulwark's tools/servers/ensure.sh to a copy of
// github.com/hashicorp/vault/sdk v0.9.2, which lacks these symbols that
// Vault v1.14.8 uses. Not part of the published sdk.

package logical

import (
	"context"
	"io"
)

// CtxKeyRequestRole is the context key for the role name (a string) that
// Vault resolved from a login request, so later steps need not resolve it
// again.
type CtxKeyRequestRole struct{}

type originalBodyContextKey struct{}

// CreateContextOriginalBody returns a copy of ctx that carries body, the
// request body before Vault's max_request_size limit wrapped it.
func CreateContextOriginalBody(ctx context.Context, body io.ReadCloser) context.Context {
	return context.WithValue(ctx, originalBodyContextKey{}, body)
}

// ContextOriginalBodyValue returns the body stored by
// CreateContextOriginalBody, and false if ctx carries none.
func ContextOriginalBodyValue(ctx context.Context) (io.ReadCloser, bool) {
	body, ok := ctx.Value(originalBodyContextKey{}).(io.ReadCloser)
	return body, ok
}
