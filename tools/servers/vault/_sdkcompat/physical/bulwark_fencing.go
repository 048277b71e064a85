// Added by Bulwark's tools/servers/ensure.sh to a copy of
// github.com/hashicorp/vault/sdk v0.9.2, which lacks these symbols that
// Vault v1.14.8 uses. Not part of the published sdk.

package physical

import "context"

// FencingHABackend is an HABackend that can make every write conditional on
// the active node still holding its HA lock. Vault core hands the lock to it
// through RegisterActiveNodeLock after acquiring leadership.
type FencingHABackend interface {
	HABackend

	RegisterActiveNodeLock(l Lock) error
}

type unfencedWriteContextKey struct{}

// UnfencedWriteCtx returns a copy of ctx that marks writes made with it as
// exempt from fencing.
func UnfencedWriteCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, unfencedWriteContextKey{}, true)
}

// IsUnfencedWrite reports whether ctx was marked by UnfencedWriteCtx.
func IsUnfencedWrite(ctx context.Context) bool {
	unfenced, _ := ctx.Value(unfencedWriteContextKey{}).(bool)
	return unfenced
}
