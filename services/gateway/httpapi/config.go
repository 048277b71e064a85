package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Defaults of Config. They bound what one client can hold: a header must
// arrive within DefaultReadHeaderTimeout, a whole request within
// DefaultReadTimeout, and a response must be written within
// DefaultWriteTimeout.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxBodyBytes      = 64 << 10
	DefaultBackendTimeout    = 10 * time.Second
)

// Config configures the gateway API. Zero fields take the defaults above.
type Config struct {
	// Addr is the listen address of NewServer, for example ":8443".
	Addr string
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout set the
	// http.Server fields of the same names.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes sets http.Server.MaxHeaderBytes.
	MaxHeaderBytes int
	// MaxBodyBytes is the largest accepted request body; larger ones get 413.
	MaxBodyBytes int64
	// BackendTimeout bounds each backend call. It must be below WriteTimeout
	// so that a slow backend still gets a JSON 504 to the client.
	BackendTimeout time.Duration
	// Middleware, if set, wraps the whole API, outside routing and
	// authentication: the slot for per-client-address rate limits.
	Middleware func(http.Handler) http.Handler
	// AuthenticatedMiddleware, if set, wraps each authenticated endpoint after
	// the session check, so UserIDFromContext works inside it: the slot for
	// per-user rate limits.
	AuthenticatedMiddleware func(http.Handler) http.Handler
	// LoginLimiter, if set, is asked before each password check.
	LoginLimiter LoginLimiter
	// ClientIP returns the client address of a request for LoginLimiter. The
	// default is the host of RemoteAddr; forwarded headers are trusted only
	// if a ClientIP that checks the proxy is set.
	ClientIP func(*http.Request) string
	// Log receives one line per failed request. Required.
	Log *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Log == nil {
		return errors.New("httpapi: Config.Log is nil; pass the gateway logger")
	}
	durations := []struct {
		name  string
		value *time.Duration
		def   time.Duration
	}{
		{"ReadHeaderTimeout", &c.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"ReadTimeout", &c.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &c.WriteTimeout, DefaultWriteTimeout},
		{"IdleTimeout", &c.IdleTimeout, DefaultIdleTimeout},
		{"BackendTimeout", &c.BackendTimeout, DefaultBackendTimeout},
	}
	for _, d := range durations {
		if *d.value < 0 {
			return fmt.Errorf("httpapi: Config.%s is %v; use a positive duration or 0 for %v", d.name, *d.value, d.def)
		}
		if *d.value == 0 {
			*d.value = d.def
		}
	}
	if c.BackendTimeout >= c.WriteTimeout {
		return fmt.Errorf("httpapi: Config.BackendTimeout %v must be below WriteTimeout %v", c.BackendTimeout, c.WriteTimeout)
	}
	if c.MaxHeaderBytes < 0 || c.MaxBodyBytes < 0 {
		return errors.New("httpapi: Config.MaxHeaderBytes and MaxBodyBytes must not be negative")
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteIP
	}
	return nil
}

// remoteIP returns the host part of r.RemoteAddr.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// NewServer returns an http.Server for the API with every timeout and size
// limit of cfg set. The caller adds TLS and calls ListenAndServeTLS or Serve.
func NewServer(cfg Config, b Backends) (*http.Server, error) {
	h, err := NewHandler(cfg, b)
	if err != nil {
		return nil, err
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}, nil
}
