package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit"
	"github.com/bulwark-go/bulwark/services/internal/rpc"
)

// maxMessageBytes bounds a backend's error detail passed to a client.
const maxMessageBytes = 300

// apiError is an error response: {"error": {"code", "message", "field"}}.
type apiError struct {
	status     int
	code       string
	message    string
	field      string
	retryAfter time.Duration // sent as Retry-After when positive
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func badRequest(field, message string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_request", message: message, field: field}
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bulwark"`)
	}
	writeJSON(w, e.status, errorBody{Error: errorDetail{Code: e.code, Message: e.message, Field: e.field}})
}

// codes are the error codes of the statuses that the gateway sends.
var codes = map[int]string{
	http.StatusBadRequest:          "invalid_request",
	http.StatusUnauthorized:        "unauthenticated",
	http.StatusForbidden:           "forbidden",
	http.StatusNotFound:            "not_found",
	http.StatusConflict:            "conflict",
	http.StatusTooManyRequests:     "rate_limited",
	http.StatusInternalServerError: "internal",
	http.StatusServiceUnavailable:  "unavailable",
	http.StatusGatewayTimeout:      "timeout",
}

// backendError maps an error of a backend call to the client's response and
// logs what the client does not see.
func backendError(ctx context.Context, log *slog.Logger, backend string, err error) *apiError {
	merr := rpc.AsError(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (merr != nil && merr.Id == rpc.ClientID && merr.Code == 408):
		log.WarnContext(ctx, "backend timed out", "backend", backend, "err", err)
		return &apiError{status: http.StatusGatewayTimeout, code: codes[504], message: backend + " did not respond in time; retry later"}
	case rpc.IsUnavailable(err):
		log.WarnContext(ctx, "backend unavailable", "backend", backend, "err", err)
		return &apiError{status: http.StatusServiceUnavailable, code: codes[503], message: backend + " is unavailable; retry later"}
	}

	status := int(merr.Code)
	field, reason := rpc.FieldReason(merr.Detail)
	reason = truncate(reason)
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusUnauthorized:
		return &apiError{status: status, code: codes[status], message: reason, field: field}
	case http.StatusForbidden:
		// A 403 between services means the gateway's identity may not call
		// the endpoint: a deployment fault, whose details stay in the log.
		log.ErrorContext(ctx, "backend denied the gateway", "backend", backend, "detail", merr.Detail)
		return &apiError{status: status, code: codes[status], message: "access denied"}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		retry, _ := rpc.RetryAfter(merr.Detail)
		log.WarnContext(ctx, "backend rejected the request as overloaded", "backend", backend, "status", status)
		msg := "too many requests; retry later"
		if status == http.StatusServiceUnavailable {
			msg = backend + " is unavailable; retry later"
		}
		return &apiError{status: status, code: codes[status], message: msg, retryAfter: retry}
	}
	log.ErrorContext(ctx, "backend failed", "backend", backend, "status", status, "detail", merr.Detail)
	return &apiError{status: http.StatusInternalServerError, code: codes[500], message: "internal error"}
}

func truncate(s string) string {
	if len(s) <= maxMessageBytes {
		return s
	}
	cut := maxMessageBytes
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// WriteRateLimited writes the response to a request that a rate limit
// rejected, in the API's error format. It fits httplimit.Options.OnReject,
// whose middleware has already set Retry-After and the RateLimit fields.
func WriteRateLimited(w http.ResponseWriter, _ *http.Request, _ ratelimit.Result) {
	writeJSON(w, http.StatusTooManyRequests, errorBody{Error: errorDetail{
		Code:    codes[http.StatusTooManyRequests],
		Message: "rate limit exceeded; retry after the number of seconds in Retry-After",
	}})
}
