package services_test

import (
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// readOnlyPolicy lets a service read the catalog but register nothing, as
// if its token belonged to another service.
const readOnlyPolicy = `service_prefix "" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}

operator = "read"
`

// TestServiceExitsWhenRegistrationRejected starts users with a Consul token
// that may not register users. go-micro only logs the rejection; the
// service must never report ready and must exit with an error.
func TestServiceExitsWhenRegistrationRejected(t *testing.T) {
	env := testenv.Start(t, testenv.Options{ConsulPolicies: map[string]string{"users": readOnlyPolicy}})
	bins := buildBinaries(t, "users")
	admin := "127.0.0.1:" + strconv.Itoa(freePort(t))
	vars := append(serviceEnv(env, repoRoot(t), "users", admin), "BULWARK_DATA_DIR="+filepath.Join(env.Dir, "data"))
	s := &service{name: "users", bin: bins["users"], env: vars, admin: admin,
		logPath: filepath.Join(t.TempDir(), "users.log")}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.After(readyTimeout)
	for {
		select {
		case err := <-s.done:
			s.done <- err
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("users exited with %v, want exit status 1", err)
			}
			if log := s.logText(t); !strings.Contains(log, "Consul registration") {
				t.Errorf("log does not say that the registration failed:\n%s", s.tail(20))
			}
			return
		case <-deadline:
			t.Fatalf("users still runs %v after Consul rejected its registration\n%s", readyTimeout, s.tail(20))
		case <-time.After(100 * time.Millisecond):
		}
		if rsp, err := client.Get("http://" + admin + "/readyz"); err == nil {
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				t.Fatal("users reported ready without a registration in Consul")
			}
		}
	}
}
