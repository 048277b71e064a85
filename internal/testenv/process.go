package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopTimeout bounds how long a server may take to exit after SIGINT before
// it receives SIGKILL. Consul v1.16.3 takes 1-2 s to leave.
const stopTimeout = 10 * time.Second

// process is one server run by the harness.
type process struct {
	name    string
	path    string
	args    []string
	logPath string
	dir     string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start runs the process in the background with its output appended to its
// log file. The child gets SIGKILL if the test binary dies before it is
// stopped.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("testenv: %s is already running", p.name)
	}

	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("testenv: open log of %s: %w", p.name, err)
	}

	fmt.Fprintf(logFile, "==== testenv: starting %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = serverEnv(p.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("testenv: start %s (%s): %w", p.name, p.path, err)
	}

	p.cmd = cmd
	p.done = make(chan struct{})
	p.err = nil
	go func(done chan struct{}) {
		err := cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}(p.done)
	return nil
}

// serverEnv is the environment of a server: only PATH, and HOME set to the
// environment's directory, so that no VAULT_*, CONSUL_* or proxy variable of
// the developer's shell reaches the servers, and nothing is written to the
// real home directory.
func serverEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
}

// exited returns a channel closed when the process exits, or nil when it is
// not running.
func (p *process) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// stop sends SIGINT, waits up to stopTimeout and then sends SIGKILL to the
// process group. It does nothing when the process is not running.
func (p *process) stop() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}

	signaled := false
	select {
	case <-done:
	default:
		signaled = true
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}

	p.mu.Lock()
	p.cmd = nil
	err := p.err
	p.mu.Unlock()

	if signaled {
		// Consul servers exit with status 1 after SIGINT because they
		// skip the graceful leave; any exit after our signal is a stop.
		return nil
	}
	if err != nil {
		return fmt.Errorf("testenv: %s exited before it was stopped: %w", p.name, err)
	}
	return nil
}

// tail returns the last n lines of the process's log file.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// logContains reports whether the log mentions text, for example an
// address-in-use error.
func (p *process) logContains(text string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && strings.Contains(string(data), text)
}

// newProcess describes a server whose log goes to dir/<name>.log.
func newProcess(name, path, dir string, args ...string) *process {
	return &process{name: name, path: path, args: args, dir: dir, logPath: filepath.Join(dir, name+".log")}
}

// registerStop stops p in t.Cleanup and prints its log tail when the test
// failed.
func registerStop(t testing.TB, p *process) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: last lines of %s:\n%s", p.logPath, p.tail(40))
		}
		if err := p.stop(); err != nil {
			t.Logf("testenv: %s exited with %v", p.name, err)
		}
	})
}

// pid returns the process ID of the running process, or 0.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
