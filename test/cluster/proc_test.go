package clustertest

import (
	"bufio"
	"bytes"
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

// gw is one wsgate process. Its address is read from its own "wsgate listening" log line, so it
// listens on 127.0.0.1:0 and no port is guessed.
type gw struct {
	t    testing.TB
	node string
	addr string // host:port of the main listener
	cmd  *exec.Cmd
	out  *logBuf
	done chan struct{} // closed when the process has exited
}

// startGW writes cfg to a file, starts wsgate serve on it and waits until it listens. The
// process is killed (by its own PID) at cleanup if still running.
func startGW(t testing.TB, node, cfg string) *gw {
	t.Helper()
	file := filepath.Join(t.TempDir(), node+".yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &gw{t: t, node: node, out: &logBuf{}, done: make(chan struct{})}
	g.cmd = exec.Command(wsgateBin, "serve", "--config", file)
	stderr, err := g.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	g.cmd.Stdout = g.out
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start wsgate %s: %v", node, err)
	}
	addrCh := make(chan string, 1)
	go g.scan(stderr, addrCh)
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.kill()
		if strings.Contains(g.out.String(), "WARNING: DATA RACE") {
			t.Errorf("node %s reported a data race", node)
		}
		if t.Failed() {
			t.Logf("--- log of node %s ---\n%s", node, g.out.tail(60))
		}
	})
	select {
	case g.addr = <-addrCh:
	case <-g.done:
		t.Fatalf("wsgate %s exited during start:\n%s", node, g.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("wsgate %s did not log its address within 30s:\n%s", node, g.out.String())
	}
	return g
}

// scan copies the JSON log into the buffer and reports the listening address once.
func (g *gw) scan(r io.Reader, addrCh chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = g.out.Write(append(line, '\n'))
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

// kill sends SIGKILL to this process (no cleanup runs in it) and waits for it to exit.
func (g *gw) kill() {
	if g.running() {
		_ = g.cmd.Process.Kill()
	}
	<-g.done
}

// term sends SIGTERM (graceful shutdown) and waits up to 30s for the process to exit.
func (g *gw) term() {
	g.t.Helper()
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		g.t.Fatalf("node %s did not exit within 30s of SIGTERM", g.node)
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		g.t.Errorf("node %s exited with %d after SIGTERM, want 0", g.node, code)
	}
}

func (g *gw) running() bool {
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

func (g *gw) wsURL(q string) string { return "ws://" + g.addr + "/dev" + q }
func (g *gw) base() string          { return "http://" + g.addr + "/dev" }

// logBuf keeps a process's output for failure messages.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// nodeConfig is one node's config: a shared Redis (prefix isolates the test), a short lease,
// SigV4 management credentials, a JWT authorizer giving each connection a user, and a Lambda
// (Invoke API) backend that records $disconnect and answers "id" with the connection id.
func nodeConfig(redisURL, prefix, node, lambdaURL string) string {
	store := fmt.Sprintf("{ type: redis, url: %q, prefix: %q, nodeLeaseTtl: 2s, nodeId: %q }", redisURL, prefix, node)
	return configYAML(store, "debug", lambdaURL)
}

// configYAML is the API every test node serves, with the given store block and log level.
func configYAML(store, level, lambdaURL string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
stage: dev
log: { level: %s, format: json }
shutdown: { gracePeriod: 10s }
store: %s
management:
  credentials: [ { accessKeyId: %q, secretAccessKey: %q } ]
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.token, secret: %q, userIdClaim: sub }
routes:
  $connect: { integration: fn, authorizer: jwt }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: cluster-fn, endpoint: %q }
`, level, store, accessKey, secretKey, jwtSecret, lambdaURL)
}
