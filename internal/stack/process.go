package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Record identifies one running process of the stack. StartTicks is field
// 22 of /proc/PID/stat (start time in clock ticks since boot): together with
// PID it names one process, so a PID that the kernel reused for another
// process no longer matches.
type Record struct {
	Name       string    `json:"name"`
	PID        int       `json:"pid"`
	StartTicks uint64    `json:"start_ticks"`
	Path       string    `json:"path"`
	Log        string    `json:"log"`
	Started    time.Time `json:"started"`
}

// procStat returns the state letter, process group and start time of pid
// from /proc/PID/stat.
func procStat(pid int) (state byte, pgid int, startTicks uint64, err error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces,
	// so the fields are counted from the last closing parenthesis.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, 0, 0, fmt.Errorf("unexpected /proc/%d/stat format", pid)
	}
	fields := strings.Fields(string(data[end+1:]))
	// fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19]
	// field 22 (starttime).
	if len(fields) < 20 {
		return 0, 0, 0, fmt.Errorf("unexpected /proc/%d/stat format", pid)
	}
	pgid, err = strconv.Atoi(fields[2])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat pgrp: %w", pid, err)
	}
	startTicks, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat starttime: %w", pid, err)
	}
	return fields[0][0], pgid, startTicks, nil
}

// Alive reports whether the recorded process still runs: its PID exists,
// has the recorded start time and is not a zombie.
func (r Record) Alive() bool {
	if r.PID <= 0 {
		return false
	}
	state, _, ticks, err := procStat(r.PID)
	return err == nil && ticks == r.StartTicks && state != 'Z' && state != 'X'
}

// readRecord loads the record of a component. A missing record returns
// ok == false and no error.
func readRecord(path string) (Record, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{}, false, fmt.Errorf("stack: process record %s is invalid: %w; stop the process by hand and delete the file", path, err)
	}
	return r, true, nil
}

func writeRecord(path string, r Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// started is a process that this command started and still waits for.
type started struct {
	Record
	exited chan struct{} // closed when the process exits while the command runs
}

// startDetached starts path with args in a new session, with standard input
// from /dev/null and standard output and error appended to logPath. The
// process keeps running after the command exits. Its record is written to
// recordPath before startDetached returns.
func startDetached(name, path string, args, env []string, dir, logPath, recordPath string) (*started, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("stack: open log of %s: %w", name, err)
	}
	defer logFile.Close() // The child keeps its own descriptor.
	fmt.Fprintf(logFile, "==== bulwark: starting %s at %s\n", name, time.Now().Format(time.RFC3339))

	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Setsid detaches the process from the terminal and gives it its own
	// process group, so Ctrl-C in the shell and the end of the command
	// leave it running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("stack: start %s (%s): %w", name, path, err)
	}
	s := &started{exited: make(chan struct{})}
	// Waiting reaps the process if it exits while this command runs. After
	// the command exits, init adopts the process.
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()

	_, _, ticks, err := procStat(cmd.Process.Pid)
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("stack: read start time of %s (pid %d): %w", name, cmd.Process.Pid, err)
	}
	s.Record = Record{Name: name, PID: cmd.Process.Pid, StartTicks: ticks, Path: path, Log: logPath, Started: time.Now()}
	if err := writeRecord(recordPath, s.Record); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("stack: write process record of %s: %w", name, err)
	}
	return s, nil
}

// stopPoll is the pause between checks that a signalled process exited.
const stopPoll = 50 * time.Millisecond

// stopRecorded sends sig to the recorded process, waits up to timeout for it
// to exit, and then sends SIGKILL to its process group. It signals nothing
// when the record no longer matches a live process, and it returns whether
// SIGKILL was needed.
func stopRecorded(r Record, sig syscall.Signal, timeout time.Duration) (killed bool, err error) {
	if !r.Alive() {
		return false, nil
	}
	if err := syscall.Kill(r.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("stack: signal %s (pid %d): %w", r.Name, r.PID, err)
	}
	if waitExit(r, timeout) {
		return false, nil
	}
	// The record still matches, so the process group is the one that
	// Setsid created for this process.
	if _, pgid, _, err := procStat(r.PID); err == nil && pgid == r.PID && r.Alive() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	} else if r.Alive() {
		_ = syscall.Kill(r.PID, syscall.SIGKILL)
	}
	if !waitExit(r, 10*time.Second) {
		return true, fmt.Errorf("stack: %s (pid %d) still runs after SIGKILL", r.Name, r.PID)
	}
	return true, nil
}

// waitExit polls until the recorded process is gone or timeout passes.
func waitExit(r Record, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for r.Alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(stopPoll)
	}
	return true
}

// tail returns the last n lines of a log file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
