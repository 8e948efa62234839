package harness

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BuildWsgate builds cmd/wsgate into dir (with the race detector when race is set, so that the
// nodes of a cluster test are checked for races too) and returns the binary's path. For
// TestMain, once per test run.
func BuildWsgate(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "wsgate")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/wsgate/wsgate/cmd/wsgate")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	return bin, build.Run()
}

// Process is one wsgate process. Its address is read from its own "wsgate listening" log line
// (the config must log JSON and listen on 127.0.0.1:0), so no port is guessed.
type Process struct {
	t    testing.TB
	Name string
	Addr string // host:port of the main listener
	Cmd  *exec.Cmd
	Out  *Buffer       // everything it logged
	done chan struct{} // closed when the process has exited
}

// StartProcess writes cfg to a file, starts `bin serve --config` on it and waits until it
// listens. At t's cleanup the process is killed (by its own PID) if still running, and the test
// fails if it reported a data race.
func StartProcess(t testing.TB, bin, name, cfg string) *Process {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Process{t: t, Name: name, Out: &Buffer{}, done: make(chan struct{})}
	p.Cmd = exec.Command(bin, "serve", "--config", file)
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.Cmd.Stdout = p.Out
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start wsgate %s: %v", name, err)
	}
	addrCh := make(chan string, 1)
	go p.scan(stderr, addrCh)
	go func() { _ = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if strings.Contains(p.Out.String(), "WARNING: DATA RACE") {
			t.Errorf("node %s reported a data race", name)
		}
		if t.Failed() {
			t.Logf("--- log of node %s ---\n%s", name, p.Out.Tail(60))
		}
	})
	select {
	case p.Addr = <-addrCh:
	case <-p.done:
		t.Fatalf("wsgate %s exited during start:\n%s", name, p.Out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("wsgate %s did not log its address within 30s:\n%s", name, p.Out.String())
	}
	return p
}

// scan copies the JSON log into Out and reports the listening address once.
func (p *Process) scan(r io.Reader, addrCh chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = p.Out.Write(append(line, '\n'))
		if sent {
			continue
		}
		var rec struct {
			Msg string `json:"msg"`
			URL string `json:"url"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "wsgate listening" {
			if u, err := url.Parse(rec.URL); err == nil && u.Host != "" {
				addrCh <- u.Host
				sent = true
			}
		}
	}
}

// Kill sends SIGKILL (no cleanup runs in the process) and waits for it to exit.
func (p *Process) Kill() {
	if p.Running() {
		_ = p.Cmd.Process.Kill()
	}
	<-p.done
}

// Term sends SIGTERM (graceful shutdown), waits up to 30 s for the exit and fails t unless the
// exit code is 0.
func (p *Process) Term() {
	p.t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("node %s did not exit within 30s of SIGTERM", p.Name)
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Errorf("node %s exited with %d after SIGTERM, want 0", p.Name, code)
	}
}

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGSTOP and waits until every thread of the process is stopped: kill(2) returns
// before the kernel has stopped them, and a thread still running could read and act on what
// the test sends next as if before the stall. Fails t after Deadline.
func (p *Process) Stop() {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatalf("SIGSTOP node %s: %v", p.Name, err)
	}
	EventuallyWithin(p.t, Deadline, "every thread of node "+p.Name+" stopped", func() bool {
		return allThreadsStopped(p.Cmd.Process.Pid)
	})
}

// Continue sends SIGCONT.
func (p *Process) Continue() {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		p.t.Fatalf("SIGCONT node %s: %v", p.Name, err)
	}
}

// allThreadsStopped reports whether every thread of pid is in state T (stopped by a signal),
// from /proc/PID/task/TID/stat: "TID (comm) STATE ...", comm possibly holding spaces or ')'.
func allThreadsStopped(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			return false // a thread that exited meanwhile: look again
		}
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) || stat[i+2] != 'T' {
			return false
		}
	}
	return true
}
