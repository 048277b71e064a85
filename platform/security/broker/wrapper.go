package broker

import (
	"context"
	"fmt"

	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/authz"
)

// SubscriberWrapper returns a go-micro subscriber wrapper that puts the
// verified publisher identity, set by this broker in PublisherHeader, in the
// context for authz.Caller. It rejects a message without that header, which
// did not come through this broker.
func SubscriberWrapper() server.SubscriberWrapper {
	return func(next server.SubscriberFunc) server.SubscriberFunc {
		return func(ctx context.Context, msg server.Message) error {
			publisher := msg.Header()[PublisherHeader]
			if publisher == "" {
				return fmt.Errorf("broker: message on %s has no verified publisher; it did not arrive "+
					"through the mTLS broker", msg.Topic())
			}
			return next(authz.WithCaller(ctx, publisher), msg)
		}
	}
}
