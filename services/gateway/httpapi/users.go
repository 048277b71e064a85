package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	usersapi "github.com/bulwark-go/bulwark/services/users/api"
)

// Field limits checked before a backend call. The users service applies the
// full rules; these only keep oversized values off the wire.
const (
	maxEmailBytes    = 254
	maxPasswordBytes = 512
)

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (c *credentials) check() *apiError {
	switch {
	case strings.TrimSpace(c.Email) == "":
		return badRequest("email", "is required")
	case len(c.Email) > maxEmailBytes:
		return badRequest("email", fmt.Sprintf("is %d bytes long; the maximum is %d", len(c.Email), maxEmailBytes))
	case c.Password == "":
		return badRequest("password", "is required")
	case len(c.Password) > maxPasswordBytes:
		return badRequest("password", fmt.Sprintf("is %d bytes long; the maximum is %d bytes", len(c.Password), maxPasswordBytes))
	}
	return nil
}

type userResponse struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

type sessionResponse struct {
	UserID    string    `json:"user_id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (a *API) register(w http.ResponseWriter, r *http.Request) {
	var req credentials
	if e := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); e != nil {
		writeError(w, e)
		return
	}
	if e := req.check(); e != nil {
		writeError(w, e)
		return
	}
	ctx, cancel := a.backendContext(r)
	defer cancel()
	rsp, err := a.b.Users.Register(ctx, &usersapi.RegisterRequest{Email: req.Email, Password: req.Password})
	if err != nil {
		writeError(w, backendError(r.Context(), a.cfg.Log, usersapi.ServiceName, err))
		return
	}
	w.Header().Set("Location", "/v1/users/"+rsp.UserID)
	writeJSON(w, http.StatusCreated, userResponse{UserID: rsp.UserID, Email: rsp.Email})
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req credentials
	if e := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); e != nil {
		writeError(w, e)
		return
	}
	if e := req.check(); e != nil {
		writeError(w, e)
		return
	}
	// The key is the email as the users service normalizes it, so that
	// changing its case or padding it does not reset the limit.
	username := strings.ToLower(strings.TrimSpace(req.Email))
	clientIP := a.cfg.ClientIP(r)
	if a.cfg.LoginLimiter != nil {
		if ok, retry := a.cfg.LoginLimiter.Allow(username, clientIP); !ok {
			a.cfg.Log.WarnContext(r.Context(), "login rate-limited", "client_ip", clientIP)
			writeError(w, &apiError{status: http.StatusTooManyRequests, code: codes[429],
				message: "too many login attempts; retry later", retryAfter: max(retry, time.Second)})
			return
		}
	}
	ctx, cancel := a.backendContext(r)
	defer cancel()
	rsp, err := a.b.Users.Login(ctx, &usersapi.LoginRequest{Email: req.Email, Password: req.Password})
	if err != nil {
		e := backendError(r.Context(), a.cfg.Log, usersapi.ServiceName, err)
		if e.status == http.StatusUnauthorized && a.cfg.LoginLimiter != nil {
			// A wrong password or an unknown email, for both of which
			// the users service returns the same 401.
			// NOTE: a 401 of the users service's authorization (the
			// gateway's own certificate expired on an open connection)
			// counts too; certificate rotation makes it rare.
			a.cfg.LoginLimiter.Failed(username, clientIP)
		}
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusCreated, sessionResponse{UserID: rsp.UserID, Token: rsp.Token, ExpiresAt: rsp.ExpiresAt})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	token, _ := r.Context().Value(tokenKey).(string)
	ctx, cancel := a.backendContext(r)
	defer cancel()
	if _, err := a.b.Users.Logout(ctx, &usersapi.LogoutRequest{Token: token}); err != nil {
		writeError(w, a.authError(r, err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
