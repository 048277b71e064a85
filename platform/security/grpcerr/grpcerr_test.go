package grpcerr

import (
	"errors"
	"net/http"
	"testing"

	merrors "go-micro.dev/v4/errors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// pluginStatus builds the status the go-micro gRPC server plugin returns for
// a handler's go-micro error: the plugin's own code, the error's text as the
// message, and the error as a detail.
func pluginStatus(t *testing.T, pluginCode codes.Code, me *merrors.Error) error {
	t.Helper()
	st, err := status.New(pluginCode, me.Error()).WithDetails(me)
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		desc       string
		pluginCode codes.Code
		microCode  int32
		want       codes.Code
	}{
		{desc: "too many requests", pluginCode: codes.Unknown, microCode: http.StatusTooManyRequests, want: codes.ResourceExhausted},
		{desc: "forbidden kept", pluginCode: codes.PermissionDenied, microCode: http.StatusForbidden, want: codes.PermissionDenied},
		{desc: "gateway timeout", pluginCode: codes.Unknown, microCode: http.StatusGatewayTimeout, want: codes.DeadlineExceeded},
		{desc: "unmapped stays", pluginCode: codes.Unknown, microCode: http.StatusTeapot, want: codes.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			me := merrors.New("orders", "limit", tt.microCode).(*merrors.Error)
			got := Rewrite(pluginStatus(t, tt.pluginCode, me))
			st, ok := status.FromError(got)
			if !ok {
				t.Fatalf("Rewrite returned a non-status error %v", got)
			}
			if st.Code() != tt.want {
				t.Fatalf("code = %v, want %v", st.Code(), tt.want)
			}
			if st.Message() != me.Error() {
				t.Fatalf("message = %q, want %q", st.Message(), me.Error())
			}
			if len(st.Details()) != 1 {
				t.Fatalf("details = %v, want the go-micro error", st.Details())
			}
			if d, ok := st.Details()[0].(*merrors.Error); !ok || d.Code != tt.microCode {
				t.Fatalf("detail = %v, want the go-micro error with code %d", st.Details()[0], tt.microCode)
			}
		})
	}
}

func TestRewriteLeavesOtherErrors(t *testing.T) {
	plain := errors.New("boom")
	if got := Rewrite(plain); got != plain {
		t.Fatalf("Rewrite(plain) = %v, want it unchanged", got)
	}
	noDetail := status.Error(codes.Internal, "x")
	if got := Rewrite(noDetail); status.Code(got) != codes.Internal {
		t.Fatalf("Rewrite(no detail) code = %v, want Internal", status.Code(got))
	}
	if Rewrite(nil) != nil {
		t.Fatal("Rewrite(nil) != nil")
	}
}

func TestStreamServerInterceptor(t *testing.T) {
	me := merrors.New("orders", "limit", http.StatusTooManyRequests).(*merrors.Error)
	handler := func(any, grpc.ServerStream) error { return pluginStatus(t, codes.Unknown, me) }
	err := StreamServerInterceptor()(nil, nil, &grpc.StreamServerInfo{}, handler)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("code = %v, want ResourceExhausted", status.Code(err))
	}
}
