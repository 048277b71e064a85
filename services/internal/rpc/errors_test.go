package rpc

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4/errors"
)

func TestInvalidFieldRoundTrip(t *testing.T) {
	tests := []struct {
		desc  string
		field string
	}{
		{desc: "plain", field: "email"},
		{desc: "indexed", field: "items[2].quantity"},
		{desc: "nested", field: "address.post_code"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			merr := AsError(InvalidField("users", tt.field, "must not be empty: send a value"))
			if merr == nil {
				t.Fatal("InvalidField did not return a go-micro error")
			}
			if merr.Code != 400 || merr.Id != "users" {
				t.Fatalf("error = %+v, want code 400 and id users", merr)
			}
			field, reason := FieldReason(merr.Detail)
			if field != tt.field {
				t.Errorf("field = %q, want %q", field, tt.field)
			}
			if reason != "must not be empty: send a value" {
				t.Errorf("reason = %q", reason)
			}
		})
	}
}

func TestFieldConflict(t *testing.T) {
	merr := AsError(FieldConflict("users", "email", "is already registered"))
	if merr == nil || merr.Code != 409 {
		t.Fatalf("FieldConflict = %v, want a 409 go-micro error", merr)
	}
	if field, _ := FieldReason(merr.Detail); field != "email" {
		t.Errorf("field = %q, want email", field)
	}
}

func TestInvalidFieldMalformedPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("InvalidField accepted a malformed field path")
		}
	}()
	_ = InvalidField("users", "Email Address", "x")
}

func TestFieldReasonWithoutField(t *testing.T) {
	for _, detail := range []string{"no colon here", "Two Words: reason", ""} {
		field, reason := FieldReason(detail)
		if field != "" || reason != detail {
			t.Errorf("FieldReason(%q) = (%q, %q), want (\"\", detail)", detail, field, reason)
		}
	}
}

func TestInternalHidesCause(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	err := Internal(context.Background(), log, "orders", "store order", fmt.Errorf("disk I/O error at /var/lib/x"))
	merr := AsError(err)
	if merr == nil || merr.Code != 500 {
		t.Fatalf("Internal = %v, want a 500 go-micro error", err)
	}
	if merr.Detail != InternalMessage {
		t.Errorf("detail = %q, want %q", merr.Detail, InternalMessage)
	}
	if !strings.Contains(logs.String(), "disk I/O error") || !strings.Contains(logs.String(), "store order") {
		t.Errorf("log %q lacks the cause or the operation", logs.String())
	}
}

func TestRetryAfter(t *testing.T) {
	merr := AsError(TooManyRequests("orders", "rate limit exceeded", 2500*time.Millisecond))
	if merr == nil || merr.Code != 429 {
		t.Fatalf("TooManyRequests = %v, want a 429 go-micro error", merr)
	}
	d, ok := RetryAfter(merr.Detail)
	if !ok || d != 3*time.Second {
		t.Errorf("RetryAfter(%q) = (%v, %v), want (3s, true)", merr.Detail, d, ok)
	}

	tests := []struct {
		detail string
		want   time.Duration
		ok     bool
	}{
		{detail: "slow down; retry after 10s", want: 10 * time.Second, ok: true},
		{detail: "retry after 1m0s, please", want: time.Minute, ok: true},
		{detail: "slow down", ok: false},
		{detail: "retry after soon", ok: false},
		{detail: "retry after -5s", ok: false},
	}
	for _, tt := range tests {
		got, ok := RetryAfter(tt.detail)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%q) = (%v, %v), want (%v, %v)", tt.detail, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIsUnavailable(t *testing.T) {
	tests := []struct {
		desc string
		err  error
		want bool
	}{
		{desc: "nil", err: nil, want: false},
		{desc: "no instance", err: errors.InternalServerError(ClientID, "service orders: not found"), want: true},
		{desc: "client timeout", err: errors.New(ClientID, "deadline", 408), want: true},
		{desc: "context deadline", err: context.DeadlineExceeded, want: true},
		{desc: "plain error", err: fmt.Errorf("connection refused"), want: true},
		{desc: "callee internal", err: errors.InternalServerError("orders", InternalMessage), want: false},
		{desc: "callee bad request", err: errors.BadRequest("orders", "x"), want: false},
		{desc: "client bad request", err: errors.BadRequest(ClientID, "x"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := IsUnavailable(tt.err); got != tt.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
