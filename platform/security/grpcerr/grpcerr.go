package grpcerr

import (
	"context"
	"net/http"

	gserver "github.com/go-micro/plugins/v4/server/grpc"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code returns the gRPC status code of a go-micro (HTTP-style) error code.
// Codes outside the table map to Unknown.
func Code(microCode int32) codes.Code {
	switch microCode {
	case http.StatusOK:
		return codes.OK
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusConflict:
		return codes.AlreadyExists
	case http.StatusPreconditionFailed:
		return codes.FailedPrecondition
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case 499: // client closed request
		return codes.Canceled
	case http.StatusInternalServerError:
		return codes.Internal
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	return codes.Unknown
}

// StreamServerInterceptor rewrites the status code of an error that carries
// a go-micro error detail to Code of that error's code. The go-micro gRPC
// server serves every method through one stream handler, so this interceptor
// also handles unary calls.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return Rewrite(handler(srv, ss))
	}
}

// UnaryServerInterceptor is the unary form of StreamServerInterceptor, for
// gRPC servers that register methods directly.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		return resp, Rewrite(err)
	}
}

// Rewrite returns err with its gRPC code set from its first go-micro error
// detail. Other errors are returned unchanged.
func Rewrite(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		me, ok := d.(*merrors.Error)
		if !ok {
			continue
		}
		want := Code(me.Code)
		if want == st.Code() || want == codes.Unknown {
			return err
		}
		p := st.Proto()
		p.Code = int32(want)
		return status.FromProto(p).Err()
	}
	return err
}

// ServerOption returns a go-micro server option that installs the stream
// interceptor together with extra, on a server of the go-micro gRPC plugin.
//
// NOTE: the plugin keeps one list of gRPC server options, and each call of
// its Options replaces the list. Pass every gRPC server option of a service
// through one call, as the secure package does.
func ServerOption(extra ...grpc.ServerOption) server.Option {
	opts := append([]grpc.ServerOption{grpc.ChainStreamInterceptor(StreamServerInterceptor())}, extra...)
	return gserver.Options(opts...)
}
