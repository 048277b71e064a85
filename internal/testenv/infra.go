package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// modulePath identifies the repository's go.mod.
const modulePath = "module github.com/bulwark-go/bulwark\n"

// findInfraDir returns the repository's infra directory: it walks up from
// the working directory (a test runs in its package directory) to the
// directory whose go.mod declares the Bulwark module, and falls back to the
// location of this source file.
func findInfraDir() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && strings.HasPrefix(string(data), modulePath) {
				infra := filepath.Join(dir, "infra")
				if _, err := os.Stat(filepath.Join(infra, "services.yaml")); err != nil {
					return "", fmt.Errorf("testenv: %w", err)
				}
				return infra, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("testenv: repository root not found: run the tests inside the Bulwark module")
}
