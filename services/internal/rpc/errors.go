package rpc

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"go-micro.dev/v4/errors"
)

// ClientID is the Id of errors that the go-micro client creates itself, for
// example when no instance of a service is found or the connection fails.
const ClientID = "go.micro.client"

// InternalMessage is the only detail an internal error carries to callers.
const InternalMessage = "internal error"

// fieldPattern matches a field path such as "email" or "items[2].quantity".
var fieldPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\[[0-9]+\])?(\.[a-z][a-z0-9_]*(\[[0-9]+\])?)*$`)

// InvalidField returns a 400 error for one request field. Its Detail is
// "<field>: <reason>", which FieldReason splits again on the other side.
// The reason is shown to end users: write it as an instruction.
func InvalidField(id, field, reason string) error {
	if !fieldPattern.MatchString(field) {
		panic(fmt.Sprintf("rpc: InvalidField called with malformed field path %q", field))
	}
	return errors.BadRequest(id, "%s: %s", field, reason)
}

// FieldConflict returns a 409 error that points at one request field, for a
// request that is well formed but conflicts with the current state, such as
// an email address that is already registered.
func FieldConflict(id, field, reason string) error {
	if !fieldPattern.MatchString(field) {
		panic(fmt.Sprintf("rpc: FieldConflict called with malformed field path %q", field))
	}
	return errors.Conflict(id, "%s: %s", field, reason)
}

// FieldReason splits the Detail of an error built by InvalidField or
// FieldConflict into its field and reason. For other details, field is empty
// and reason is the whole detail.
func FieldReason(detail string) (field, reason string) {
	f, r, ok := strings.Cut(detail, ": ")
	if !ok || !fieldPattern.MatchString(f) {
		return "", detail
	}
	return f, r
}

// Internal logs err with the operation that failed and returns a 500 error
// whose detail is InternalMessage, so that callers never see the cause.
func Internal(ctx context.Context, log *slog.Logger, id, op string, err error) error {
	log.ErrorContext(ctx, "request failed", "op", op, "err", err)
	return errors.InternalServerError(id, InternalMessage)
}

// retryAfterPrefix starts the part of a 429 detail that carries the wait.
const retryAfterPrefix = "retry after "

// TooManyRequests returns a 429 error whose detail carries retryAfter, so that
// the gateway can send it on as a Retry-After header. RetryAfter reads it back.
func TooManyRequests(id, reason string, retryAfter time.Duration) error {
	if retryAfter < 0 {
		retryAfter = 0
	}
	return errors.New(id, fmt.Sprintf("%s; %s%s", reason, retryAfterPrefix, retryAfter.Round(time.Second)),
		http.StatusTooManyRequests)
}

// RetryAfter returns the wait carried by a 429 error built with
// TooManyRequests: the Go duration after the last "retry after " in the
// detail. It returns false when the detail carries none.
func RetryAfter(detail string) (time.Duration, bool) {
	i := strings.LastIndex(detail, retryAfterPrefix)
	if i < 0 {
		return 0, false
	}
	value := detail[i+len(retryAfterPrefix):]
	if end := strings.IndexAny(value, " ;,"); end >= 0 {
		value = value[:end]
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// AsError returns err as a go-micro error, or nil if it is not one.
func AsError(err error) *errors.Error {
	var merr *errors.Error
	if stderrors.As(err, &merr) {
		return merr
	}
	return nil
}

// IsUnavailable reports whether err means the service could not be reached or
// did not answer in time: an error created by the go-micro client itself with
// a 5xx or 408 code, a context error, or any error that is not a go-micro
// error (a transport failure). A callee's own 5xx is not unavailability.
//
// NOTE: a request body that the callee cannot decode also comes back as the
// client's own 500, so it counts as unavailable. Only a faulty caller sends
// such a body, because all calls use the typed api structs.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if stderrors.Is(err, context.DeadlineExceeded) || stderrors.Is(err, context.Canceled) {
		return true
	}
	merr := AsError(err)
	if merr == nil {
		return true
	}
	if merr.Id != ClientID {
		return false
	}
	return merr.Code >= 500 || merr.Code == http.StatusRequestTimeout
}
