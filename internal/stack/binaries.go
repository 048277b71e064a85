package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// serverBinary returns the Consul or Vault binary: the path in envVar when
// set, else the path that tools/servers/ensure.sh prints. ensure.sh finds
// the pinned release on PATH or in its cache, or builds it (minutes on a
// first run).
func serverBinary(ctx context.Context, repoRoot, name, envVar string, progress io.Writer) (string, error) {
	if path := os.Getenv(envVar); path != "" {
		if err := executable(path); err != nil {
			return "", fmt.Errorf("stack: %s=%s: %w; unset it or point it at the %s binary", envVar, path, err, name)
		}
		return path, nil
	}
	script := filepath.Join(repoRoot, "tools", "servers", "ensure.sh")
	cmd := exec.CommandContext(ctx, script, name)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	// ensure.sh reports build progress on stderr, which is copied to the
	// command's output because a first build takes minutes.
	cmd.Stderr = io.MultiWriter(&stderr, progress)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("stack: %s %s failed: %w: %s; run it by hand or set %s",
			script, name, err, strings.TrimSpace(stderr.String()), envVar)
	}
	path := strings.TrimSpace(stdout.String())
	if err := executable(path); err != nil {
		return "", fmt.Errorf("stack: %s %s printed %q: %w", script, name, path, err)
	}
	return path, nil
}

// redisBinary returns BULWARK_REDIS_BIN, or redis-server from PATH, or ""
// when neither exists: the stack then keeps rate limits in memory.
func redisBinary() (string, error) {
	if path := os.Getenv("BULWARK_REDIS_BIN"); path != "" {
		if err := executable(path); err != nil {
			return "", fmt.Errorf("stack: BULWARK_REDIS_BIN=%s: %w; unset it or point it at redis-server", path, err)
		}
		return path, nil
	}
	path, err := exec.LookPath("redis-server")
	if errors.Is(err, exec.ErrNotFound) {
		return "", nil
	}
	return path, err
}

func executable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}
