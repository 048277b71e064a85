// Command users is the users service: registration, password login and
// sessions, over mTLS behind the gateway. It is configured by BULWARK_*
// environment variables; see services/README.md.
package main

import (
	"context"
	"time"

	"github.com/bulwark-go/bulwark/services/internal/admin"
	"github.com/bulwark-go/bulwark/services/internal/boot"
	"github.com/bulwark-go/bulwark/services/users/api"
	"github.com/bulwark-go/bulwark/services/users/handler"
	"github.com/bulwark-go/bulwark/services/users/internal/store"
)

// sessionSweepInterval is how often expired sessions are deleted. They are
// rejected as soon as they expire; the sweep only bounds the table's size.
const sessionSweepInterval = 10 * time.Minute

func main() {
	boot.Main(api.ServiceName, boot.Options{DataDir: true}, setup)
}

func setup(ctx context.Context, svc *boot.Service) error {
	db, err := store.Open(ctx, svc.DataFile("users.db"))
	if err != nil {
		return err
	}
	svc.OnClose(db.Close)
	svc.Check(admin.Check{Name: "database", Func: db.DB().PingContext})

	h, err := handler.New(handler.Options{Store: db, Log: svc.Log})
	if err != nil {
		return err
	}
	if err := svc.Handle(h); err != nil {
		return err
	}

	svc.Go(boot.Every("session sweep", sessionSweepInterval, svc.Log, func(ctx context.Context) error {
		n, err := db.DeleteSessionsExpiredBefore(ctx, time.Now())
		if err == nil && n > 0 {
			svc.Log.Info("deleted expired sessions", "count", n)
		}
		return err
	}))
	return nil
}
