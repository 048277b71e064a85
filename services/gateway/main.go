// Command gateway is the public HTTPS/JSON API of Bulwark. It authenticates
// callers with the users service, limits each client, and calls users,
// orders and inventory over mTLS. It is configured by BULWARK_* environment
// variables; see services/README.md.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/bulwark-go/bulwark/platform/security/ratelimit/httplimit"
	"github.com/bulwark-go/bulwark/services/gateway/httpapi"
	"github.com/bulwark-go/bulwark/services/internal/boot"
	"github.com/bulwark-go/bulwark/services/internal/run"
	inventoryclient "github.com/bulwark-go/bulwark/services/inventory/client"
	ordersclient "github.com/bulwark-go/bulwark/services/orders/client"
	usersclient "github.com/bulwark-go/bulwark/services/users/client"
)

// serviceName is the gateway's registry name and certificate identity.
const serviceName = "gateway"

func main() {
	boot.Main(serviceName, boot.Options{Gateway: true, Routes: httpapi.Routes()}, setup)
}

func setup(ctx context.Context, svc *boot.Service) error {
	backends, err := newBackends(svc)
	if err != nil {
		return err
	}
	limits, err := newHTTPLimits(svc)
	if err != nil {
		return err
	}
	srv, err := httpapi.NewServer(httpapi.Config{
		Addr:                    svc.Env.GatewayListen,
		Middleware:              limits.perAddress.Handler,
		AuthenticatedMiddleware: limits.perClient.Handler,
		LoginLimiter:            limits.login,
		ClientIP:                limits.clientIP.ClientIPString,
		Log:                     svc.Log,
	}, backends)
	if err != nil {
		return err
	}

	cert, err := tls.LoadX509KeyPair(svc.Env.GatewayTLSCertFile, svc.Env.GatewayTLSKeyFile)
	if err != nil {
		return fmt.Errorf("gateway: load the public TLS certificate %s and key %s: %w; run bulwark bootstrap certs",
			svc.Env.GatewayTLSCertFile, svc.Env.GatewayTLSKeyFile, err)
	}
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", svc.Env.GatewayListen)
	if err != nil {
		return fmt.Errorf("gateway: open the public listener %s=%s: %w", boot.EnvGatewayListen,
			svc.Env.GatewayListen, err)
	}
	svc.Log.Info("public HTTPS listener open", "address", ln.Addr().String())
	svc.Go(httpsServer(srv, ln))
	return nil
}

func newBackends(svc *boot.Service) (httpapi.Backends, error) {
	users, err := usersclient.New(svc.Client())
	if err != nil {
		return httpapi.Backends{}, err
	}
	orders, err := ordersclient.New(svc.Client())
	if err != nil {
		return httpapi.Backends{}, err
	}
	products, err := inventoryclient.New(svc.Client())
	if err != nil {
		return httpapi.Backends{}, err
	}
	return httpapi.Backends{Users: users, Orders: orders, Products: products}, nil
}

// httpLimits are the gateway's limits, all from the gateway section of the
// rate-limit settings and sharing one store.
type httpLimits struct {
	// perAddress limits every request by client address, before routing
	// and authentication.
	perAddress *httplimit.Middleware
	// perClient limits authenticated requests by user.
	perClient *httplimit.Middleware
	// login limits password attempts per username and per address.
	login *httplimit.Login
	// clientIP finds the client address, trusting forwarding headers only
	// from the configured proxies.
	clientIP *httplimit.ClientIPResolver
}

func newHTTPLimits(svc *boot.Service) (*httpLimits, error) {
	limits, err := svc.Limits()
	if err != nil {
		return nil, err
	}
	settings := limits.Reloader.Settings().Gateway
	clientIP, err := httplimit.NewClientIPResolver(settings.ClientIP)
	if err != nil {
		return nil, err
	}
	common := httplimit.Options{
		Store: limits.Store,
		Rules: limits.Reloader.GatewayRules,
		// The per-address middleware runs before routing, so the route
		// comes from the route table and not from r.Pattern.
		Route:    httpapi.RouteOf,
		ClientIP: clientIP,
		Headers:  settings.Headers,
		Metrics:  limits.Metrics,
		Logger:   svc.Log,
		OnReject: httpapi.WriteRateLimited,
	}
	perAddress, err := httplimit.New(common)
	if err != nil {
		return nil, err
	}
	byUser := common
	byUser.ClientKey = func(r *http.Request) (string, bool) { return httpapi.UserIDFromContext(r.Context()) }
	perClient, err := httplimit.New(byUser)
	if err != nil {
		return nil, err
	}
	login, err := httplimit.NewLogin(httplimit.LoginOptions{
		Store:    limits.Store,
		Limits:   limits.Reloader.LoginLimits,
		ClientIP: clientIP,
		Metrics:  limits.Metrics,
		Logger:   svc.Log,
	})
	if err != nil {
		return nil, err
	}
	return &httpLimits{perAddress: perAddress, perClient: perClient, login: login, clientIP: clientIP}, nil
}

// httpsServer serves srv over TLS on ln. srv.TLSConfig holds the
// certificate; ServeTLS adds HTTP/2.
func httpsServer(srv *http.Server, ln net.Listener) run.Component {
	return run.Component{
		Name: "public HTTPS server",
		Run: func() error {
			err := srv.ServeTLS(ln, "", "")
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		},
		Shutdown: srv.Shutdown,
	}
}
