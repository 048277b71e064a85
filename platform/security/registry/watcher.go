package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	microregistry "go-micro.dev/v4/registry"
)

// watchRestartDelay is the pause before a watcher that ended on its own, or
// that could not be created, is created again.
const watchRestartDelay = time.Second

// Watch returns a watcher of one service. Unlike the plugin's watcher, it
// survives token switches: when the Registry moves to a new client, the
// watcher stops the inner watcher, sends a "delete" result without nodes for
// the service, and watches again through the new client. go-micro's registry
// cache handles that result by dropping its entry, so the next lookup reads
// Consul afresh and no node that left during the switch stays cached.
//
// The Consul plugin cannot watch all services, so opts must name one with
// registry.WatchService.
func (r *Registry) Watch(opts ...microregistry.WatchOption) (microregistry.Watcher, error) {
	var wo microregistry.WatchOptions
	for _, o := range opts {
		o(&wo)
	}
	if wo.Service == "" {
		return nil, errors.New("registry: Watch needs a service name; pass registry.WatchService(name), " +
			"because the Consul plugin cannot watch all services")
	}
	select {
	case <-r.closed:
		return nil, microregistry.ErrWatcherStopped
	default:
	}

	inner, tok, swapped := r.current()
	iw, err := inner.Watch(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry: watch service %q: %w", wo.Service, redactSecret(err, tok))
	}
	w := &watcher{
		r:       r,
		opts:    opts,
		service: wo.Service,
		results: make(chan *microregistry.Result),
		exit:    make(chan struct{}),
	}
	go w.run(iw, swapped)
	return w, nil
}

// watcher is a registry.Watcher that follows the Registry across clients.
type watcher struct {
	r       *Registry
	opts    []microregistry.WatchOption
	service string
	results chan *microregistry.Result
	exit    chan struct{}
	once    sync.Once
}

// Next returns the next change to the watched service, or
// registry.ErrWatcherStopped once the watcher or the Registry was stopped.
func (w *watcher) Next() (*microregistry.Result, error) {
	select {
	case res := <-w.results:
		return res, nil
	case <-w.exit:
		return nil, microregistry.ErrWatcherStopped
	case <-w.r.closed:
		return nil, microregistry.ErrWatcherStopped
	}
}

// Stop ends the watcher. It is safe to call more than once.
func (w *watcher) Stop() {
	w.once.Do(func() { close(w.exit) })
}

// run forwards results from the inner watcher and replaces it after each
// token switch. All results go out through run, so a result of the old
// client can never follow the flush that announces the new one.
func (w *watcher) run(iw microregistry.Watcher, swapped <-chan struct{}) {
	for {
		stopPump := make(chan struct{})
		events := pump(iw, stopPump)
		if !w.forward(events, swapped) {
			close(stopPump)
			iw.Stop()
			return
		}
		close(stopPump)
		iw.Stop()
		if !w.deliver(&microregistry.Result{Action: "delete", Service: &microregistry.Service{Name: w.service}}) {
			return
		}

		var ok bool
		if iw, swapped, ok = w.rewatch(); !ok {
			return
		}
	}
}

// forward delivers events until the Registry switches clients or the inner
// watcher ends, and returns false when the watcher is stopped.
func (w *watcher) forward(events <-chan *microregistry.Result, swapped <-chan struct{}) bool {
	for {
		select {
		case <-w.exit:
			return false
		case <-w.r.closed:
			return false
		case <-swapped:
			return true
		case res, ok := <-events:
			if !ok {
				w.r.log.Warn("Consul watcher ended; watching again", slog.String("watched_service", w.service))
				return w.pause()
			}
			if !w.deliver(res) {
				return false
			}
		}
	}
}

// rewatch creates a watcher on the current client, retrying until it
// succeeds or the watcher is stopped.
func (w *watcher) rewatch() (microregistry.Watcher, <-chan struct{}, bool) {
	for {
		inner, tok, swapped := w.r.current()
		iw, err := inner.Watch(w.opts...)
		if err == nil {
			return iw, swapped, true
		}
		w.r.log.Error("watching through the new Consul client failed; retrying",
			slog.String("watched_service", w.service), slog.Any("error", redactSecret(err, tok)))
		if !w.pause() {
			return nil, nil, false
		}
	}
}

// deliver hands res to Next and returns false when the watcher is stopped.
func (w *watcher) deliver(res *microregistry.Result) bool {
	select {
	case w.results <- res:
		return true
	case <-w.exit:
		return false
	case <-w.r.closed:
		return false
	}
}

// pause waits watchRestartDelay and returns false when the watcher is stopped.
func (w *watcher) pause() bool {
	t := time.NewTimer(watchRestartDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.exit:
		return false
	case <-w.r.closed:
		return false
	}
}

// pump reads iw until it fails or stop is closed, and closes the returned
// channel when it returns.
func pump(iw microregistry.Watcher, stop <-chan struct{}) <-chan *microregistry.Result {
	out := make(chan *microregistry.Result)
	go func() {
		defer close(out)
		for {
			res, err := iw.Next()
			if err != nil {
				return
			}
			select {
			case out <- res:
			case <-stop:
				return
			}
		}
	}()
	return out
}
