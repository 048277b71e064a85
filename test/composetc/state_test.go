package composetc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// The compose module starts the stack without `compose.sh up`, so the suite
// runs the two steps that up performs around compose up: `compose.sh
// prepare` (mounted directories, Redis passwords and redis.conf) before, and
// `compose.sh env` (read-only operator tokens, env file and mode file)
// after. The suite thereby tests the script's own state, not a copy of it.

// containerUser returns the numeric user and group of the containers: the
// caller's, so the caller can read what they write, or 10001 for root. It
// matches container_user in compose.sh.
func containerUser() (uid, gid int) {
	if os.Getuid() == 0 {
		return 10001, 10001
	}
	return os.Getuid(), os.Getgid()
}

// prepareState runs `compose.sh prepare` for the stack's directory.
func (s *stack) prepareState(ctx context.Context) error {
	return s.composeScript(ctx, "prepare")
}

// writeEnv runs `compose.sh env`, which writes the env file and the mode
// file of the stack directory with fresh read-only operator tokens.
func (s *stack) writeEnv(ctx context.Context) error {
	return s.composeScript(ctx, "env")
}

func (s *stack) envFile() string { return filepath.Join(s.dir, "env") }

// composeScript runs tools/stack/compose.sh with the stack's settings.
func (s *stack) composeScript(ctx context.Context, command string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.repo, "tools", "stack", "compose.sh"), command)
	cmd.Dir = s.repo
	cmd.Env = append(os.Environ(),
		"BULWARK_STACK_DIR="+s.dir,
		"BULWARK_COMPOSE_PROJECT="+s.project,
		"BULWARK_SUBNET_PREFIX="+s.subnet,
		"BULWARK_GATEWAY_PORT="+strconv.Itoa(s.port),
		"BULWARK_IMAGE_TAG="+imageTag(),
	)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("tools/stack/compose.sh %s: %w\n%s", command, err, output.String())
	}
	return nil
}
