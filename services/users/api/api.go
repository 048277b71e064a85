// Package api defines the users service's name, endpoints and the request and
// response types that travel between services as JSON.
package api

import (
	"time"

	"github.com/bulwark-go/bulwark/services/internal/ids"
)

// ServiceName is the registry name and certificate identity of the service.
const ServiceName = "users"

// Endpoint names, as go-micro routes them: the handler type and method.
const (
	EndpointRegister     = "Users.Register"
	EndpointLogin        = "Users.Login"
	EndpointLogout       = "Users.Logout"
	EndpointAuthenticate = "Users.Authenticate"
)

// RegisterRequest creates an account.
type RegisterRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// RegisterResponse carries the new account's id and normalized email.
type RegisterResponse struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

// LoginRequest checks a password and opens a session.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// LoginResponse carries the session token, which is shown only once.
type LoginResponse struct {
	UserID    string    `json:"user_id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// LogoutRequest revokes the session of Token.
type LogoutRequest struct {
	Token string `json:"token"`
}

// LogoutResponse is empty: logout succeeds or fails.
type LogoutResponse struct{}

// AuthenticateRequest requests the user that a session token belongs to.
type AuthenticateRequest struct {
	Token string `json:"token"`
}

// AuthenticateResponse carries the user of a valid, unexpired session.
type AuthenticateResponse struct {
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// UserIDPrefix starts every user id.
const UserIDPrefix = "u"

// ValidUserID reports whether id has the form of a user id.
func ValidUserID(id string) bool { return ids.Valid(UserIDPrefix, id) }
