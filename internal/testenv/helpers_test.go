package testenv

import (
	"path/filepath"

	"github.com/bulwark-go/bulwark/internal/bootstrap"
)

func loadServicesForTest(infra string) ([]bootstrap.Service, error) {
	return bootstrap.LoadServices(filepath.Join(infra, "services.yaml"))
}
