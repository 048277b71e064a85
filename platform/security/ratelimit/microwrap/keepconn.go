package microwrap

import (
	"context"
	"errors"
	"net/http"

	grpcclient "github.com/go-micro/plugins/v4/client/grpc"
	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The go-micro gRPC client (client/grpc v1.2.1) closes a pooled connection
// after any call that returns an error, so every call after a rejection pays
// for a new TLS handshake. A rate-limit rejection does not mean the
// connection failed, and closing it makes a flood of rejections more
// expensive for both sides. The interceptor and call wrapper below keep the
// connection. The interceptor runs inside the plugin's call, stores a 429
// and reports success to the plugin. The call wrapper runs outside the
// plugin's call and returns the stored 429 to the caller.

type rejectionSlotKey struct{}

type rejectionSlot struct{ err error }

// RejectionInterceptor returns the gRPC unary client interceptor half of
// the pair (see KeepConnOnRejection). Without the call wrapper's slot in the
// context it passes every error through.
func RejectionInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil {
			return nil
		}
		slot, ok := ctx.Value(rejectionSlotKey{}).(*rejectionSlot)
		if !ok {
			return err
		}
		if merr := rateLimitError(err); merr != nil {
			slot.err = merr
			return nil
		}
		return err
	}
}

// RejectionCallWrapper returns the go-micro call wrapper half of the pair
// (see KeepConnOnRejection).
func RejectionCallWrapper() client.CallWrapper {
	return func(next client.CallFunc) client.CallFunc {
		return func(ctx context.Context, node *registry.Node, req client.Request, rsp any, opts client.CallOptions) error {
			slot := &rejectionSlot{}
			err := next(context.WithValue(ctx, rejectionSlotKey{}, slot), node, req, rsp, opts)
			if slot.err != nil {
				return slot.err
			}
			return err
		}
	}
}

// KeepConnOnRejection returns the go-micro client options that keep a
// pooled connection open after a 429: the interceptor, installed with the
// plugin's DialOptions together with extra, and the call wrapper. Install
// it after every other call wrapper, because wrappers inside it receive a
// rejected call as a success.
//
// NOTE: the plugin keeps one list of gRPC dial options, and each DialOptions
// call replaces it. Pass every dial option of the client through extra, or
// add RejectionInterceptor to the list you build yourself.
func KeepConnOnRejection(extra ...grpc.DialOption) []client.Option {
	dial := append([]grpc.DialOption{grpc.WithChainUnaryInterceptor(RejectionInterceptor())}, extra...)
	return []client.Option{
		func(o *client.Options) { grpcclient.DialOptions(dial...)(&o.CallOptions) },
		client.WrapCall(RejectionCallWrapper()),
	}
}

// rateLimitError returns the go-micro 429 error carried by a gRPC status,
// or nil when err is anything else.
func rateLimitError(err error) *merrors.Error {
	st, ok := status.FromError(err)
	if !ok || (st.Code() != codes.ResourceExhausted && st.Code() != codes.Unknown) {
		return nil
	}
	for _, d := range st.Details() {
		var merr *merrors.Error
		if e, ok := d.(error); ok && errors.As(e, &merr) && merr.Code == http.StatusTooManyRequests {
			return merr
		}
	}
	return nil
}
