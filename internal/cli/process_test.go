package cli

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
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// wsgateBinary builds cmd/wsgate once per test run, with the version stamped as goreleaser
// does, and returns its path.
func wsgateBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wsgate-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "wsgate")
		cmd := exec.Command("go", "build", "-o", binPath,
			"-ldflags", "-X github.com/wsgate/wsgate/internal/cli.Version=v0.0.0-test -X github.com/wsgate/wsgate/internal/cli.Commit=testcommit -X github.com/wsgate/wsgate/internal/cli.Date=2026-11-29T00:00:00Z",
			"github.com/wsgate/wsgate/cmd/wsgate")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("go build ./cmd/wsgate: %v\n%s", binErr, binPath)
	}
	return binPath
}

// process is `wsgate serve ...` running as a child process, its JSON log collected.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string

	mu    sync.Mutex
	lines []map[string]any
	raw   strings.Builder
	grew  chan struct{} // closed and replaced on every new line
	done  chan struct{} // closed when the process exited
}

// startProcess runs the binary with args (which should include --listen 127.0.0.1:0) and waits
// for its "wsgate listening" line. At cleanup it sends SIGTERM and waits for the exit.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{t: t, grew: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command(wsgateBinary(t), args...)
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stderr)
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("wsgate did not stop on SIGTERM")
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("wsgate log:\n%s", p.log())
		}
	})
	line := p.waitLog("wsgate listening", 30*time.Second)
	u, err := url.Parse(fmt.Sprint(line["url"]))
	if err != nil || u.Host == "" {
		t.Fatalf("listening line without a url: %v", line)
	}
	p.addr = u.Host
	return p
}

func (p *process) read(r io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		_ = json.Unmarshal(sc.Bytes(), &m) // non-JSON lines (warnings) are kept raw only
		p.mu.Lock()
		p.raw.WriteString(sc.Text() + "\n")
		if m != nil {
			p.lines = append(p.lines, m)
		}
		close(p.grew)
		p.grew = make(chan struct{})
		p.mu.Unlock()
	}
	_ = p.cmd.Wait()
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// logged returns the JSON log lines whose msg starts with prefix.
func (p *process) logged(prefix string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, l := range p.lines {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// waitLog waits for the n-th (default first) line whose msg starts with prefix.
func (p *process) waitLogN(prefix string, n int, d time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.After(d)
	for {
		p.mu.Lock()
		grew := p.grew
		p.mu.Unlock()
		if ls := p.logged(prefix); len(ls) >= n {
			return ls[n-1]
		}
		select {
		case <-grew:
		case <-p.done:
			if ls := p.logged(prefix); len(ls) >= n {
				return ls[n-1]
			}
			p.t.Fatalf("wsgate exited before logging %q (#%d):\n%s", prefix, n, p.log())
		case <-deadline:
			p.t.Fatalf("no log line %q (#%d) within %s:\n%s", prefix, n, d, p.log())
		}
	}
}

func (p *process) waitLog(prefix string, d time.Duration) map[string]any {
	p.t.Helper()
	return p.waitLogN(prefix, 1, d)
}

func (p *process) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}
