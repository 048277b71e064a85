package microwrap

import (
	"errors"
	"net/http"
	"strings"
	"time"

	merrors "go-micro.dev/v4/errors"
)

// retryAfterMarker starts the part of a 429 detail that carries the wait,
// written as a Go duration, for example "retry after 1.25s".
const retryAfterMarker = "retry after "

// TooManyRequests returns the go-micro 429 error of a rejected request. Its
// detail ends with "retry after D", where D is retryAfter rounded up to a
// whole millisecond and at least one millisecond, so a client never reads a
// wait of zero. The gRPC stream interceptor of package grpcerr turns the
// error into ResourceExhausted for plain gRPC clients.
func TooManyRequests(id, reason string, retryAfter time.Duration) error {
	wait := max((retryAfter+time.Millisecond-1)/time.Millisecond, 1) * time.Millisecond
	return merrors.New(id, reason+"; "+retryAfterMarker+wait.String(), http.StatusTooManyRequests)
}

// RetryAfter returns the wait carried by a 429 error from TooManyRequests,
// and false for any other error.
func RetryAfter(err error) (time.Duration, bool) {
	var merr *merrors.Error
	if !errors.As(err, &merr) || merr.Code != http.StatusTooManyRequests {
		return 0, false
	}
	i := strings.LastIndex(merr.Detail, retryAfterMarker)
	if i < 0 {
		return 0, false
	}
	d, err := time.ParseDuration(merr.Detail[i+len(retryAfterMarker):])
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}
