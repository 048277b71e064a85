package httpapi

import (
	"context"
	"net/http"
	"strings"

	usersapi "github.com/bulwark-go/bulwark/services/users/api"
)

// maxTokenBytes bounds the bearer token sent to the users service. Session
// tokens are 43 bytes; anything much longer is rejected without a call.
const maxTokenBytes = 256

type contextKey int

const (
	userIDKey contextKey = iota
	tokenKey
)

// UserIDFromContext returns the user id of an authenticated request, for
// Config.AuthenticatedMiddleware. It returns false outside authenticated
// endpoints.
func UserIDFromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(userIDKey).(string)
	return id, ok && id != ""
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header, or an error response.
func bearerToken(r *http.Request) (string, *apiError) {
	unauthenticated := func(msg string) *apiError {
		return &apiError{status: http.StatusUnauthorized, code: codes[401], message: msg}
	}
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", unauthenticated("the Authorization header is missing; send Authorization: Bearer <token>")
	case 1:
	default:
		return "", unauthenticated("send exactly one Authorization header")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", unauthenticated("the Authorization header must use the Bearer scheme")
	}
	if token == "" || len(token) > maxTokenBytes || strings.ContainsAny(token, " \t") {
		return "", unauthenticated(messageInvalidSession)
	}
	return token, nil
}

// messageInvalidSession matches the users service's message for a rejected
// token, so that a malformed token and an unknown one read the same.
const messageInvalidSession = "session is invalid or expired; log in again"

// authenticated checks the bearer token with the users service and runs next
// with the user id in the request context, wrapped in
// Config.AuthenticatedMiddleware.
func (a *API) authenticated(next http.HandlerFunc) http.Handler {
	var inner http.Handler = next
	if a.cfg.AuthenticatedMiddleware != nil {
		inner = a.cfg.AuthenticatedMiddleware(inner)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, apiErr := bearerToken(r)
		if apiErr != nil {
			writeError(w, apiErr)
			return
		}
		ctx, cancel := a.backendContext(r)
		rsp, err := a.b.Users.Authenticate(ctx, &usersapi.AuthenticateRequest{Token: token})
		cancel()
		if err != nil {
			writeError(w, a.authError(r, err))
			return
		}
		if !usersapi.ValidUserID(rsp.UserID) {
			a.cfg.Log.ErrorContext(r.Context(), "users service returned a malformed user id")
			writeError(w, &apiError{status: http.StatusInternalServerError, code: codes[500], message: "internal error"})
			return
		}
		ctx = context.WithValue(r.Context(), userIDKey, rsp.UserID)
		ctx = context.WithValue(ctx, tokenKey, token)
		inner.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authError maps a failed Authenticate call. A 400 from the users service
// can only mean a malformed token, so the client gets 401 for it as well.
func (a *API) authError(r *http.Request, err error) *apiError {
	e := backendError(r.Context(), a.cfg.Log, usersapi.ServiceName, err)
	if e.status == http.StatusBadRequest {
		return &apiError{status: http.StatusUnauthorized, code: codes[401], message: messageInvalidSession}
	}
	return e
}
