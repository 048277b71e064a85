package broker

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	mbroker "go-micro.dev/v4/broker"
	"golang.org/x/time/rate"

	"github.com/bulwark-go/bulwark/platform/security/authz"
	"github.com/bulwark-go/bulwark/platform/security/identity"
)

type event struct {
	topic string
	msg   *mbroker.Message
	err   error
}

func (e *event) Topic() string             { return e.topic }
func (e *event) Message() *mbroker.Message { return e.msg }
func (e *event) Ack() error                { return nil }
func (e *event) Error() error              { return e.err }

// serveHTTP delivers one published message to the subscriber named by the
// id query parameter, after checking the publisher's verified identity.
func (b *Broker) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if start, ok := r.Context().Value(connStartKey{}).(time.Time); ok && time.Since(start) > b.cfg.MaxConnectionAge {
		// The publisher reconnects for its next message, with its
		// current certificate.
		w.Header().Set("Connection", "close")
	}
	if r.TLS == nil {
		// Unreachable with ServeTLS; kept so that a change of listener
		// cannot turn the check off silently.
		b.reject(w, http.StatusUnauthorized, "publish rejected: not TLS", "remote", r.RemoteAddr)
		return
	}
	publisher, err := identity.FromConnectionState(*r.TLS)
	if err != nil {
		b.reject(w, http.StatusUnauthorized, "publish rejected: no verified publisher identity",
			"remote", r.RemoteAddr, "error", err)
		return
	}
	if err := authz.CheckValidity(*r.TLS, b.cfg.Clock.Now()); err != nil {
		// The handshake checked the certificate when the connection
		// opened, and a publisher reuses it for up to MaxConnectionAge.
		args := []any{"publisher", publisher, "remote", r.RemoteAddr, "error", err}
		var timeErr *authz.CertificateTimeError
		if errors.As(err, &timeErr) {
			args = append(args, "not_before", timeErr.NotBefore, "not_after", timeErr.NotAfter)
		}
		b.reject(w, http.StatusUnauthorized, "publish rejected: publisher certificate not valid now", args...)
		return
	}
	if r.Method != http.MethodPost {
		b.reject(w, http.StatusMethodNotAllowed, "publish rejected: method not allowed",
			"publisher", publisher, "method", r.Method)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.cfg.MaxMessageBytes))
	if err != nil {
		b.reject(w, http.StatusRequestEntityTooLarge, "publish rejected: body unreadable or too large",
			"publisher", publisher, "error", err)
		return
	}
	var msg mbroker.Message
	if err := json.Unmarshal(body, &msg); err != nil {
		b.reject(w, http.StatusBadRequest, "publish rejected: body is not a broker message",
			"publisher", publisher, "error", err)
		return
	}
	topic := msg.Header[topicHeader]
	if topic == "" {
		b.reject(w, http.StatusBadRequest, "publish rejected: no topic header", "publisher", publisher)
		return
	}
	if err := b.cfg.Policy.AllowPublish(publisher, topic); err != nil {
		b.reject(w, http.StatusForbidden, "publish denied", "publisher", publisher, "topic", topic)
		return
	}
	id := r.URL.Query().Get("id")
	var handlers []mbroker.Handler
	b.mu.RLock()
	for _, s := range b.subscribers[topic] {
		if s.id == id {
			handlers = append(handlers, s.handler)
		}
	}
	b.mu.RUnlock()
	if len(handlers) == 0 {
		b.reject(w, http.StatusNotFound, "publish rejected: no such subscription", "publisher", publisher,
			"topic", topic, "id", id)
		return
	}

	// The publisher controls every header except this one.
	for k := range msg.Header {
		if strings.EqualFold(k, PublisherHeader) {
			delete(msg.Header, k)
		}
	}
	msg.Header[PublisherHeader] = publisher

	failed := false
	for _, h := range handlers {
		ev := &event{topic: topic, msg: &msg}
		if err := h(ev); err != nil {
			failed = true
			b.log.Error("subscriber handler failed", "topic", topic, "publisher", publisher, "error", err)
		}
	}
	if failed {
		http.Error(w, statusText(http.StatusInternalServerError)+": subscriber handler failed",
			http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (b *Broker) reject(w http.ResponseWriter, code int, msg string, args ...any) {
	b.rejections.warn(msg, args...)
	http.Error(w, statusText(code), code)
}

// rejectionLog logs rejected publishes at a bounded rate and counts the
// rest, so that a flood of bad publishes cannot flood the log.
type rejectionLog struct {
	log        *slog.Logger
	limiterMu  atomic.Pointer[rate.Limiter]
	suppressed atomic.Int64
}

func (l *rejectionLog) warn(msg string, args ...any) {
	lim := l.limiterMu.Load()
	if lim == nil {
		l.limiterMu.CompareAndSwap(nil, rate.NewLimiter(10, 20))
		lim = l.limiterMu.Load()
	}
	if !lim.Allow() {
		l.suppressed.Add(1)
		return
	}
	if n := l.suppressed.Swap(0); n > 0 {
		args = append(args, "suppressed_since_last", n)
	}
	l.log.Warn(msg, args...)
}
