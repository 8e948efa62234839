package bench_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/backend"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/bench"
	"github.com/wsgate/wsgate/internal/benchfloor"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startGateway runs a bench config in-process with its listen and backend addresses replaced.
func startGateway(t *testing.T, file, backend string) string {
	t.Helper()
	raw, err := os.ReadFile("../../../../bench/configs/" + file)
	if err != nil {
		t.Fatal(err)
	}
	y := strings.ReplaceAll(string(raw), "127.0.0.1:19001", backend)
	y = strings.Replace(y, "listen: 127.0.0.1:18080", "listen: 127.0.0.1:0", 1)
	y = strings.Replace(y, "127.0.0.1:18090", freePort(t), 1)
	cfg, err := config.Parse(file, []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	cfg.State.Dir = t.TempDir() // the local CA, not in ~/.local/state
	return servertest.StartConfig(t, cfg, nil).WS("/bench")
}

type result struct {
	Kind        string     `json:"kind"`
	Items       int64      `json:"items"`
	LoadStart   [3]float64 `json:"load_start"`
	Connections int64      `json:"connections"`
	Sent        int64      `json:"sent"`
	Received    int64      `json:"received"`
	Errors      int64      `json:"errors"`
	ErrorSample string     `json:"error_sample"`
	P99         *float64   `json:"p99_ms"`
	P999        *float64   `json:"p999_ms"`
	GatewayRSS  int64      `json:"gateway_rss_kb"`
	Rate        float64    `json:"rate"`
	Warmup      int        `json:"warmup"`
}

func run(t *testing.T, o bench.Options) result {
	t.Helper()
	var out bytes.Buffer
	var errOut harness.Buffer // a spawned server writes to it from its own goroutine
	o.Stdout, o.Stderr, o.JSON = &out, &errOut, true
	if o.Duration == 0 {
		o.Duration = 30 * time.Second
	}
	if err := bench.Run(o); err != nil {
		t.Fatalf("%s: %v\n%s", o.Scenario, err, errOut.String())
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%s: result %q: %v", o.Scenario, out.String(), err)
	}
	if r.Errors != 0 {
		t.Fatalf("%s: %d errors (%s)\n%s", o.Scenario, r.Errors, r.ErrorSample, errOut.String())
	}
	return r
}

func TestScenariosAgainstGateway(t *testing.T) {
	backendAddr := freePort(t)
	stop, err := backend.Start(backendAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	echo := startGateway(t, "echo.yaml", backendAddr)
	r := run(t, bench.Options{Scenario: "echo", URL: echo, Conns: 20, Count: 5})
	if r.Received != 100 || r.Sent != 100 || r.P99 == nil {
		t.Fatalf("echo closed loop: %+v", r)
	}
	r = run(t, bench.Options{Scenario: "echo", URL: echo, Conns: 10, Count: 3, Rate: 1000})
	if r.Received != 30 {
		t.Fatalf("echo paced: %+v", r)
	}
	r = run(t, bench.Options{Scenario: "idle", URL: echo, Conns: 30, Hold: 10 * time.Millisecond, GatewayPID: os.Getpid()})
	if r.Connections != 30 || r.GatewayRSS <= 0 || r.P99 == nil {
		t.Fatalf("idle: %+v", r)
	}

	push := startGateway(t, "push.yaml", backendAddr)
	cfg := "../../../../bench/configs/push.yaml" // for its credentials
	r = run(t, bench.Options{Scenario: "push", URL: push, Config: cfg, Conns: 20, Count: 200, Concurrency: 2, Pipeline: 4})
	if r.Sent != 200 || r.Received != 200 {
		t.Fatalf("push: %+v", r)
	}
	// --batch: POST @batch requests of 5 entries each, 40 requests = 200 deliveries.
	r = run(t, bench.Options{Scenario: "push", URL: push, Config: cfg, Conns: 20, Count: 40, Concurrency: 2, Pipeline: 4, Batch: 5})
	if r.Sent != 40 || r.Received != 200 || r.Errors != 0 {
		t.Fatalf("push --batch 5: %+v", r)
	}
	// Requests sent to a management URL given apart from the sockets' (here the same node),
	// starting at a set time.
	mgmt := "http://" + strings.TrimPrefix(push, "ws://")
	r = run(t, bench.Options{Scenario: "push", URL: push, Config: cfg, Conns: 5, Count: 20, Concurrency: 1, MgmtURL: mgmt, StartAt: time.Now().Add(500 * time.Millisecond)})
	if r.Sent != 20 || r.Received != 20 {
		t.Fatalf("push with --mgmt-url and --start-at: %+v", r)
	}
	r = run(t, bench.Options{Scenario: "broadcast", URL: push, Config: cfg, Conns: 20, Count: 10, Concurrency: 2})
	if r.Sent != 10 || r.Received != 200 {
		t.Fatalf("broadcast: %+v", r)
	}
	// Wrong credentials: every push is refused, and the run says so.
	var out bytes.Buffer
	err = bench.Run(bench.Options{Scenario: "push", URL: push, Conns: 2, Count: 4, Concurrency: 1,
		AccessKey: "AKIDWSGATEBENCH", SecretKey: "wrong", Stdout: &out, Stderr: io.Discard})
	if err != nil || !strings.Contains(out.String(), "errors=4") || !strings.Contains(out.String(), "HTTP 403") {
		t.Fatalf("bad signature: %v %s", err, out.String())
	}

	// A JWT authorizer: every connection presents its own token (the warm-up's too: no error);
	// without tokens, 401s. Only the cycles after the warm-up are counted.
	jwtURL := startGateway(t, "jwt.yaml", backendAddr)
	r = run(t, bench.Options{Scenario: "churn", URL: jwtURL, Config: "../../../../bench/configs/jwt.yaml", JWT: true, Count: 20, Warmup: 10, Concurrency: 4})
	if r.Sent != 20 || r.Warmup != 10 || r.Errors != 0 || r.Kind != "wsgate" || r.LoadStart[0] <= 0 {
		t.Fatalf("churn with tokens after a warm-up: %+v", r)
	}
	r = run(t, bench.Options{Scenario: "idle", URL: jwtURL, Config: "../../../../bench/configs/jwt.yaml", JWT: true, Conns: 10, Hold: 1})
	if r.Connections != 10 {
		t.Fatalf("idle with tokens: %+v", r)
	}
	out.Reset()
	if err := bench.Run(bench.Options{Scenario: "churn", URL: jwtURL, Count: 2, Concurrency: 1, Stdout: &out, Stderr: io.Discard}); err != nil || !strings.Contains(out.String(), "errors=2") || !strings.Contains(out.String(), "401") {
		t.Fatalf("churn without tokens: %v %s", err, out.String())
	}

	churn := startGateway(t, "churn.yaml", backendAddr)
	h := http.Header{"Authorization": {"Bearer bench"}}
	r = run(t, bench.Options{Scenario: "churn", URL: churn, Count: 50, Concurrency: 4, Header: h})
	if r.Sent != 50 {
		t.Fatalf("churn: %+v", r)
	}
	// Without the identity source the authorizer refuses: errors are counted, not hidden.
	out.Reset()
	if err := bench.Run(bench.Options{Scenario: "churn", URL: churn, Count: 3, Concurrency: 1, Stdout: &out, Stderr: io.Discard}); err != nil || !strings.Contains(out.String(), "errors=3") {
		t.Fatalf("churn without token: %v %s", err, out.String())
	}
}

func TestBareServerEcho(t *testing.T) {
	addr := freePort(t)
	b, err := benchfloor.Start(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	r := run(t, bench.Options{Scenario: "echo", URL: "ws://" + addr + "/", Conns: 10, Count: 10})
	if r.Received != 100 {
		t.Fatalf("%+v", r)
	}
}

// TestBareServerEchoThroughTheBackend runs echo on the floor plus the HTTP hop (bare-server
// --integration) against the bundled backend: every message makes the round trip through it.
func TestBareServerEchoThroughTheBackend(t *testing.T) {
	backendAddr := freePort(t)
	stop, err := backend.Start(backendAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	integ := "http://" + backendAddr + "/echo"
	b, err := benchfloor.StartWith(freePort(t), benchfloor.Options{Integration: integ})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	r := run(t, bench.Options{Scenario: "echo", Target: bench.TargetBare, Integration: integ, URL: "ws://" + b.Addr() + "/bench", Conns: 10, Count: 10, Rate: 2000})
	if r.Received != 100 || r.Kind != bench.KindBareHop || r.P999 == nil {
		t.Fatalf("%+v", r)
	}
	bm, err := benchfloor.StartWith(freePort(t), benchfloor.Options{Integration: integ, IntegrationClient: benchfloor.ClientMinimal})
	if err != nil {
		t.Fatal(err)
	}
	defer bm.Stop()
	r = run(t, bench.Options{Scenario: "echo", Target: bench.TargetBare, Integration: integ, IntegrationClient: "minimal", URL: "ws://" + bm.Addr() + "/bench", Conns: 10, Count: 10, Rate: 2000})
	if r.Received != 100 || r.Kind != bench.KindBareHopMin {
		t.Fatalf("minimal client: %+v", r)
	}
	// The backend gone: every answer is the error frame, and the run counts each as an error
	// (closed loop: each connection's first answer is wrong, so it sends no second; 2 wrong
	// answers + 2 messages never answered).
	stop()
	var out bytes.Buffer
	err = bench.Run(bench.Options{Scenario: "echo", Target: bench.TargetBare, Integration: integ, URL: "ws://" + b.Addr() + "/bench",
		Conns: 2, Count: 2, Stdout: &out, Stderr: io.Discard, Duration: 30 * time.Second})
	if err != nil || !strings.Contains(out.String(), " sent=2 received=0 ") || !strings.Contains(out.String(), " errors=4 ") ||
		!strings.Contains(out.String(), "Internal server error") {
		t.Fatalf("backend gone: %v %s", err, out.String())
	}
	// --integration is the floor's: wsgate's integration is in its config.
	err = bench.Run(bench.Options{Scenario: "echo", Integration: integ, URL: "ws://" + b.Addr() + "/bench", Conns: 1, Count: 1, Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "--integration") {
		t.Fatalf("--integration on wsgate: %v", err)
	}
}

// TestPushFloor runs push and broadcast against the push floor (bare-server --push).
func TestPushFloor(t *testing.T) {
	b, err := benchfloor.StartWith(freePort(t), benchfloor.Options{Push: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	url := "ws://" + b.Addr() + "/bench"
	r := run(t, bench.Options{Scenario: "push", Target: bench.TargetBare, URL: url, Conns: 20, Count: 100, Concurrency: 2, Pipeline: 4,
		AccessKey: "AKIDWSGATEBENCH", SecretKey: "any"})
	if r.Sent != 100 || r.Received != 100 || r.Kind != "bare" {
		t.Fatalf("push: %+v", r)
	}
	r = run(t, bench.Options{Scenario: "broadcast", Target: bench.TargetBare, URL: url, Conns: 20, Count: 5, Concurrency: 1})
	if r.Sent != 5 || r.Received != 100 {
		t.Fatalf("broadcast: %+v", r)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	err := bench.Run(bench.Options{Scenario: "idle", URL: "ws://203.0.113.7:8080/dev", Conns: 1, Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("got %v", err)
	}
	if _, err := backend.Start("0.0.0.0:0"); err == nil {
		t.Fatal("backend listened on every interface")
	}
	if err := bench.Run(bench.Options{Scenario: "nope", URL: "ws://127.0.0.1:1/x"}); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("got %v", err)
	}
}
