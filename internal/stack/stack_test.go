package stack

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPlanPorts(t *testing.T) {
	defaults, err := PlanPorts(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		desc      string
		got, want int
	}{
		{"consul https", defaults.ConsulHTTPS, 8501},
		{"vault", defaults.Vault, 8200},
		{"redis", defaults.Redis, 6380},
		{"gateway", defaults.Gateway, 8443},
		{"gateway admin", defaults.Admin["gateway"], 9101},
		{"users admin", defaults.Admin["users"], 9102},
		{"orders admin", defaults.Admin["orders"], 9103},
		{"inventory admin", defaults.Admin["inventory"], 9104},
	} {
		if c.got != c.want {
			t.Errorf("%s port = %d, want %d", c.desc, c.got, c.want)
		}
	}

	moved, err := PlanPorts(20000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]string{}
	for _, p := range moved.All() {
		if p.Port < 20000 || p.Port >= 20000+portCount {
			t.Errorf("%s port %d is outside 20000-%d", p.Name, p.Port, 20000+portCount-1)
		}
		if other, dup := seen[p.Port]; dup {
			t.Errorf("%s and %s share port %d", p.Name, other, p.Port)
		}
		seen[p.Port] = p.Name
	}
	if len(seen) != portCount {
		t.Errorf("moved plan has %d ports, want %d", len(seen), portCount)
	}

	for _, base := range []int{80, 65530, -1} {
		if _, err := PlanPorts(base); err == nil || !strings.Contains(err.Error(), strconv.Itoa(base)) {
			t.Errorf("PlanPorts(%d) error = %v, want one naming the base", base, err)
		}
	}
}

// startSleeper starts a child process in its own session, as the stack
// starts its components, and kills it at the end of the test.
func startSleeper(t *testing.T) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return cmd, done
}

func TestStopRecordedChecksStartTime(t *testing.T) {
	cmd, done := startSleeper(t)
	_, _, ticks, err := procStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// A record whose start time differs names an earlier process that had
	// the same PID: the PID now belongs to someone else.
	stale := Record{Name: "sleeper", PID: cmd.Process.Pid, StartTicks: ticks + 1}
	if stale.Alive() {
		t.Fatal("a record with another start time counts as alive")
	}
	if _, err := stopRecorded(stale, syscall.SIGTERM, time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("stopRecorded signalled a process whose start time does not match the record")
	case <-time.After(200 * time.Millisecond):
	}

	current := Record{Name: "sleeper", PID: cmd.Process.Pid, StartTicks: ticks}
	if !current.Alive() {
		t.Fatal("the matching record does not count as alive")
	}
	killed, err := stopRecorded(current, syscall.SIGTERM, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if killed {
		t.Error("sleep needed SIGKILL after SIGTERM")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the process still runs after stopRecorded")
	}
}

func TestStopRecordedKillsAfterTimeout(t *testing.T) {
	// The shell ignores SIGTERM, so only SIGKILL stops it.
	cmd := exec.Command("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The trap is in place once the shell prints its first line.
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-done })
	_, _, ticks, err := procStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	killed, err := stopRecorded(Record{Name: "stubborn", PID: cmd.Process.Pid, StartTicks: ticks}, syscall.SIGTERM, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !killed {
		t.Error("stopRecorded did not report SIGKILL")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the process survived SIGKILL")
	}
}

func TestStartDetachedWritesRecord(t *testing.T) {
	dir := t.TempDir()
	p, err := startDetached("sleeper", "/bin/sh", []string{"-c", "echo started; exec sleep 60"}, nil, dir,
		filepath.Join(dir, "sleeper.log"), filepath.Join(dir, "sleeper.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = stopRecorded(p.Record, syscall.SIGKILL, time.Second); <-p.exited })

	r, ok, err := readRecord(filepath.Join(dir, "sleeper.json"))
	if err != nil || !ok {
		t.Fatalf("readRecord: ok=%v err=%v", ok, err)
	}
	if r.PID != p.PID || r.StartTicks != p.StartTicks || !r.Alive() {
		t.Fatalf("record %+v does not match the started process %+v", r, p.Record)
	}
	_, pgid, _, err := procStat(r.PID)
	if err != nil {
		t.Fatal(err)
	}
	if pgid != r.PID {
		t.Errorf("process group %d, want its own group %d", pgid, r.PID)
	}
	sid, err := getsid(r.PID)
	if err != nil {
		t.Fatal(err)
	}
	if sid != r.PID {
		t.Errorf("session %d, want its own session %d", sid, r.PID)
	}
	info, err := os.Stat(filepath.Join(dir, "sleeper.json"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("record mode %o, want 600", info.Mode().Perm())
	}
}

func getsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}

func TestCheckFreeNamesOwner(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	err = checkFree(NamedPort{Component: Consul, Name: "Consul HTTPS", Port: port})
	if err == nil {
		t.Fatal("checkFree accepted a port in use")
	}
	for _, want := range []string{strconv.Itoa(port), "Consul HTTPS", "pid " + strconv.Itoa(os.Getpid()), "BULWARK_PORT_BASE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	addrs, err := ListeningAddrs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(addrs, netip.MustParseAddrPort("127.0.0.1:"+strconv.Itoa(port))) {
		t.Errorf("ListeningAddrs(self) = %v, missing 127.0.0.1:%d", addrs, port)
	}
	ports, err := ListeningPorts(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !containsInt(ports, port) {
		t.Errorf("ListeningPorts(self) = %v, missing %d", ports, port)
	}

	l.Close()
	if err := checkFree(NamedPort{Component: Consul, Name: "Consul HTTPS", Port: port}); err != nil {
		t.Errorf("checkFree on a closed port: %v", err)
	}
}

func containsInt(values []int, value int) bool {
	for _, v := range values {
		if v == value {
			return true
		}
	}
	return false
}

func TestCleanRefusesForeignDirectory(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"state", "run"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	foreign := filepath.Join(dir, "thesis.tex")
	if err := os.WriteFile(foreign, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = Clean(t.Context(), Config{RepoRoot: root, Dir: dir, PortBase: 20000})
	if err == nil || !strings.Contains(err.Error(), "thesis.tex") {
		t.Fatalf("Clean error = %v, want one naming thesis.tex", err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("Clean removed a file it did not create: %v", err)
	}
}

func TestWriteEnvQuotesPaths(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "it's here")
	s, err := newStack(Config{RepoRoot: root, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.makeDirs(); err != nil {
		t.Fatal(err)
	}
	if err := s.writeEnv(); err != nil {
		t.Fatal(err)
	}
	script := `. "$1" && printf '%s\n' "$BULWARK_VAULT_TOKEN_FILE" "$CONSUL_HTTP_ADDR" "$CONSUL_HTTP_SSL" "$BULWARK_GATEWAY_URL"`
	out, err := exec.Command("sh", "-c", script, "sh", s.paths.Env).CombinedOutput()
	if err != nil {
		t.Fatalf("sourcing the env file failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{s.paths.VaultOperatorToken(), "127.0.0.1:8501", "true", "https://127.0.0.1:8443"}
	if len(lines) != len(want) {
		t.Fatalf("env printed %q, want %q", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}

func TestRecordedPortBase(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths := NewPaths(dir)
	if err := os.MkdirAll(paths.Run, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths.PortBase(), []byte("23000\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	s, err := newStack(Config{RepoRoot: root, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if s.ports.Vault != 23000 {
		t.Errorf("Vault port %d with no base given, want the recorded base 23000", s.ports.Vault)
	}

	// A new base is fine while nothing runs.
	s, err = newStack(Config{RepoRoot: root, Dir: dir, PortBase: 24000})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.checkPortBase(); err != nil {
		t.Errorf("checkPortBase with nothing running: %v", err)
	}

	// With a component running on the recorded base, it is rejected.
	cmd, _ := startSleeper(t)
	_, _, ticks, err := procStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeRecord(paths.Record(Consul), Record{Name: Consul, PID: cmd.Process.Pid, StartTicks: ticks}); err != nil {
		t.Fatal(err)
	}
	err = s.checkPortBase()
	if err == nil {
		t.Fatal("checkPortBase accepted a new base while Consul runs on the recorded one")
	}
	for _, want := range []string{"consul", "23000", "24000", "BULWARK_PORT_BASE=23000"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
