package secure

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4"
	mbroker "go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"

	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

// TestCheckInPlaceRejectsReplacements shows the start check catching what
// Service.Init does when MICRO_BROKER, MICRO_SERVER or MICRO_CLIENT is set:
// a go-micro default replacing a secured piece.
func TestCheckInPlaceRejectsReplacements(t *testing.T) {
	ca := pkitest.NewCA(t)
	src, err := pki.NewSource(context.Background(), pki.Config{
		Service: "gateway",
		Issuer:  ca.Issuer(t, "gateway", time.Hour, time.Now),
		Bundle:  pki.NewBundle(ca.Root),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	policy := filepath.Join(t.TempDir(), "authz.yaml")
	if err := os.WriteFile(policy, []byte("services: [gateway]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(context.Background(), Config{
		Name: "gateway", PolicyFile: policy, Registry: registry.NewMemoryRegistry(), Certificates: src,
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := svc.Options()
	srv := opts.Server.(*guardedServer)
	if err := checkInPlace(svc.Service, srv, svc.Broker); err != nil {
		t.Fatalf("check of the secured service = %v, want nil", err)
	}
	tests := []struct {
		desc    string
		replace micro.Option
		wantErr string
	}{
		{desc: "broker", replace: micro.Broker(mbroker.NewBroker()), wantErr: "broker was replaced"},
		{desc: "server", replace: micro.Server(server.NewServer()), wantErr: "server was replaced"},
		{desc: "client", replace: micro.Client(client.NewClient()), wantErr: "client was replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			replaced := micro.NewService(micro.Server(srv), micro.Client(opts.Client), micro.Broker(svc.Broker), tt.replace)
			err := checkInPlace(replaced, srv, svc.Broker)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("checkInPlace = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
