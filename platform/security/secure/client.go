package secure

import (
	"context"
	"crypto/tls"
	"fmt"

	gclient "github.com/go-micro/plugins/v4/client/grpc"
	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/bulwark-go/bulwark/platform/security/identity"
)

// serverIdentityWrapper checks after each call that the server which
// responded is the service the call was for. The TLS check of mtls.ClientConfig
// accepts any service of the trust domain, because one client config serves
// every service. This wrapper closes the gap left by a registry that maps a
// service name to another service's address.
//
// NOTE: the check runs after the response arrives, so the request has
// already reached the wrong service, which is still one holding a valid
// certificate of the trust domain. Streams (Client.Stream) are not checked.
func serverIdentityWrapper(c client.Client) client.Client {
	return &identityClient{Client: c}
}

type identityClient struct {
	client.Client
}

// Call makes the call and returns a 502 error when the responding server's
// certificate names another service than req.Service().
func (c *identityClient) Call(ctx context.Context, req client.Request, rsp any, opts ...client.CallOption) error {
	var p peer.Peer
	opts = append(opts, gclient.CallOptions(grpc.Peer(&p)))
	err := c.Client.Call(ctx, req, rsp, opts...)
	if p.AuthInfo == nil {
		// No connection was made, so err already describes the failure.
		return err
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return merrors.New("bulwark.secure", fmt.Sprintf("call of %s %s did not use TLS",
			req.Service(), req.Endpoint()), 502)
	}
	name, idErr := serverName(info.State)
	if idErr != nil || name != req.Service() {
		return merrors.New("bulwark.secure", fmt.Sprintf("call of %s %s was answered by %s at %s, not by %s; "+
			"check the registry entry of %s", req.Service(), req.Endpoint(), describe(name, idErr), p.Addr,
			req.Service(), req.Service()), 502)
	}
	return err
}

// serverName reads the service name from the server's leaf. mtls.ClientConfig
// verified the chain in VerifyConnection before the call could proceed.
func serverName(state tls.ConnectionState) (string, error) {
	if len(state.PeerCertificates) == 0 {
		return "", identity.ErrNoIdentity
	}
	return identity.FromCertificate(state.PeerCertificates[0])
}

func describe(name string, err error) string {
	if err != nil {
		return "a server without a service identity"
	}
	return "service " + name
}
