package stack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/stack"
)

// modeRoot builds a fake repository root with a copy of
// tools/stack/stack.sh, a compose.sh that only prints its arguments, and a
// docker command that succeeds or fails. It returns the root and the PATH
// to run with.
func modeRoot(t *testing.T, dockerWorks, composeFiles bool) (string, string) {
	t.Helper()
	repo, err := stack.FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(repo, "tools", "stack", "stack.sh"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	tools := filepath.Join(root, "tools", "stack")
	bin := filepath.Join(root, "fake-bin")
	for _, dir := range []string{tools, bin} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(tools, "stack.sh"), string(script))
	if composeFiles {
		write(filepath.Join(tools, "compose.sh"), "#!/bin/sh\necho \"compose.sh $*\"\n")
		write(filepath.Join(root, "docker-compose.yml"), "services: {}\n")
	}
	status := "1"
	if dockerWorks {
		status = "0"
	}
	write(filepath.Join(bin, "docker"), "#!/bin/sh\nexit "+status+"\n")
	return root, bin + string(os.PathListSeparator) + os.Getenv("PATH")
}

// runMode runs the copied stack.sh and returns its combined output.
func runMode(t *testing.T, root, path string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "tools", "stack", "stack.sh"), args...)
	cmd.Dir = root
	// HOME stays the caller's: native mode runs the go command, whose
	// telemetry may still be writing below HOME/.config when the test ends,
	// which made a temporary HOME fail its cleanup.
	cmd.Env = append([]string{"PATH=" + path, "HOME=" + os.Getenv("HOME")}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestStackScriptChoosesMode(t *testing.T) {
	for _, c := range []struct {
		desc         string
		dockerWorks  bool
		composeFiles bool
		env          []string
		want         []string
		wantErr      bool
	}{
		{desc: "docker and compose files", dockerWorks: true, composeFiles: true,
			want: []string{"mode compose: a Docker engine responds", "compose.sh up"}},
		{desc: "docker without compose files", dockerWorks: true,
			want: []string{"mode native: docker-compose.yml or tools/stack/compose.sh is missing"}, wantErr: true},
		{desc: "no docker engine", composeFiles: true,
			want: []string{"mode native: no Docker engine responds"}, wantErr: true},
		{desc: "native forced", dockerWorks: true, composeFiles: true, env: []string{"BULWARK_MODE=native"},
			want: []string{"mode native: set by BULWARK_MODE"}, wantErr: true},
		{desc: "compose forced without docker", composeFiles: true, env: []string{"BULWARK_MODE=compose"},
			want: []string{"mode compose: set by BULWARK_MODE", "compose.sh up"}},
		{desc: "invalid mode", env: []string{"BULWARK_MODE=swarm"},
			want: []string{"BULWARK_MODE='swarm' is invalid"}, wantErr: true},
	} {
		t.Run(c.desc, func(t *testing.T) {
			root, path := modeRoot(t, c.dockerWorks, c.composeFiles)
			out, err := runMode(t, root, path, c.env, "up")
			// Native mode fails in the fake root, which has no Go
			// module: only the choice is under test.
			if (err != nil) != c.wantErr {
				t.Errorf("error = %v, want error %v\n%s", err, c.wantErr, out)
			}
			for _, want := range c.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "compose.sh up") && strings.Contains(out, "mode native") {
				t.Errorf("native mode ran compose.sh:\n%s", out)
			}
		})
	}
}

func TestStackScriptFollowsRecordedMode(t *testing.T) {
	root, path := modeRoot(t, true, true)
	state := filepath.Join(root, ".bulwark")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "mode"), []byte("compose\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{"down", "clean", "status"} {
		out, err := runMode(t, root, path, nil, command)
		if err != nil {
			t.Errorf("%s: %v\n%s", command, err, out)
		}
		if !strings.Contains(out, "compose.sh "+command) {
			t.Errorf("%s did not run compose.sh %s:\n%s", command, command, out)
		}
	}

	// up on a recorded compose stack stays in compose mode.
	out, err := runMode(t, root, path, nil, "up")
	if err != nil || !strings.Contains(out, "compose.sh up") {
		t.Errorf("up on a recorded compose stack: %v\n%s", err, out)
	}

	// up on a recorded native stack stays native although Docker responds.
	// Native mode fails in the fake root, which has no Go module.
	if err := os.WriteFile(filepath.Join(state, "mode"), []byte("native\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ = runMode(t, root, path, nil, "up")
	if !strings.Contains(out, "mode native: recorded") || strings.Contains(out, "compose.sh up") {
		t.Errorf("up did not keep the recorded native mode:\n%s", out)
	}

	// An explicit switch to compose over a native stack is rejected.
	out, err = runMode(t, root, path, []string{"BULWARK_MODE=compose"}, "up")
	if err == nil {
		t.Fatalf("up switched a native stack to compose:\n%s", out)
	}
	if !strings.Contains(out, "contains a native stack") || strings.Contains(out, "compose.sh up") {
		t.Errorf("up output does not reject the switch:\n%s", out)
	}
}
