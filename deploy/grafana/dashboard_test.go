// Package grafana holds the Grafana dashboard deploy/grafana/wsgate.json and, in this test, the
// check that it charts what a running wsgate exposes: every metric name a query of the dashboard
// reads is a sample name on the /metrics page of the real binary, built from this tree and served
// traffic that makes each family appear, and every label a query groups by is on that metric.
package grafana

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// queries returns the PromQL of every panel target and template variable of the dashboard.
func queries(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Type  string
				Query any
			}
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var qs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			qs = append(qs, q)
		}
	}
	return qs
}

var (
	metricName = regexp.MustCompile(`\b(?:wsgate|go|process)_[A-Za-z0-9_]+`)
	// "sum by (a, b) (rate(NAME{...}" and "label_values(NAME..., label)": the labels the query needs.
	byClause    = regexp.MustCompile(`by \(([^)]*)\)`)
	labelValues = regexp.MustCompile(`label_values\(([A-Za-z0-9_]+)[^,]*,\s*([A-Za-z0-9_]+)\)`)
	sampleLine  = regexp.MustCompile(`^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? `)
	labelName   = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)="`)
)

// Labels Prometheus itself adds to every scraped series, or that histogram_quantile reads.
var scrapeLabels = map[string]bool{"job": true, "instance": true, "le": true}

func TestDashboardQueriesWhatTheBinaryExposes(t *testing.T) {
	qs := queries(t, "wsgate.json")
	if len(qs) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	// The metric names each query reads, and the labels it groups by.
	needLabels := map[string]map[string]bool{} // metric -> labels
	for _, q := range qs {
		names := metricName.FindAllString(q, -1)
		if len(names) == 0 {
			t.Errorf("query reads no wsgate metric: %s", q)
		}
		var labels []string
		for _, m := range byClause.FindAllStringSubmatch(q, -1) {
			for _, l := range strings.Split(m[1], ",") {
				labels = append(labels, strings.TrimSpace(l))
			}
		}
		if m := labelValues.FindStringSubmatch(q); m != nil {
			labels = append(labels, m[2])
		}
		for _, n := range names {
			if needLabels[n] == nil {
				needLabels[n] = map[string]bool{}
			}
			for _, l := range labels {
				if l != "" && !scrapeLabels[l] {
					needLabels[n][l] = true
				}
			}
		}
	}
	// The dashboard charts API Gateway's CloudWatch metrics under their CloudWatch names.
	for _, n := range []string{"wsgate_ConnectCount_total", "wsgate_MessageCount_total", "wsgate_IntegrationError_total",
		"wsgate_ClientError_total", "wsgate_ExecutionError_total", "wsgate_IntegrationLatency_milliseconds_bucket"} {
		if needLabels[n] == nil {
			t.Errorf("the dashboard does not chart %s", n)
		}
	}

	addr := serve(t)
	drive(t, addr)

	// Scrape until every metric the dashboard reads is there (the counters of a closed socket
	// are written when its $disconnect has run), then report what is missing.
	var have map[string]map[string]bool
	var missing []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		have = scrape(t, "http://"+addr+"/metrics")
		missing = missing[:0]
		for n, labels := range needLabels {
			got, ok := have[n]
			if !ok {
				missing = append(missing, n+" (no such sample on /metrics)")
				continue
			}
			for l := range labels {
				if !got[l] {
					missing = append(missing, fmt.Sprintf("%s has no label %q", n, l))
				}
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("deploy/grafana/wsgate.json queries %s", m)
	}
	if len(missing) == 0 {
		t.Logf("%d queries over %d metrics, all exposed by the running binary with the labels they group by", len(qs), len(needLabels))
	}
}

// scrape returns the sample names of a /metrics page with the label names each carries.
func scrape(t *testing.T, url string) map[string]map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	out := map[string]map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := sampleLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue // comments, blank lines
		}
		if out[m[1]] == nil {
			out[m[1]] = map[string]bool{}
		}
		for _, l := range labelName.FindAllStringSubmatch(m[2], -1) {
			out[m[1]][l[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// serve builds cmd/wsgate from this tree and runs it on a free port with a config whose routes
// reach each outcome the dashboard charts: a MOCK route answering, an HTTP_PROXY backend
// answering 500 (IntegrationError), one that is not listening (ExecutionError), and no $default
// (a message matching no route is a ClientError). It returns the listen address.
func serve(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "wsgate")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // a cold build on a loaded machine
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/wsgate/wsgate/cmd/wsgate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "backend broke", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String() // nothing listens here once closed
	ln.Close()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
stage: dev
routeSelectionExpression: $request.body.action
routes:
  echo:
    integration: echo
    routeResponse: true
  fail:
    integration: fail
  down:
    integration: down
integrations:
  echo:
    type: MOCK
    responses:
      $default:
        templateSelectionExpression: \$default
        templates:
          $default: '{"connectionId":"$context.connectionId"}'
  fail:
    type: HTTP_PROXY
    uri: %s/ws
  down:
    type: HTTP_PROXY
    uri: http://%s/ws
    timeout: 5s
`, failing.URL, closed)
	path := filepath.Join(dir, "wsgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(bin, "serve", "--config", path)
	srv.Dir = dir
	logs := &syncBuffer{}
	srv.Stderr = logs
	srv.Stdout = logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("wsgate's log:\n%s", logs)
		}
	})
	listening := regexp.MustCompile(`"msg":"wsgate listening","url":"ws://([^/"]+)/dev"`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listening.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("wsgate did not start:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drive connects a real WebSocket client and sends what makes every family of the dashboard
// appear: a routed message and its answer, a push through @connections, a 500 from a backend,
// an unreachable backend, a message matching no route, and a client close.
func drive(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/dev", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	send := func(msg string) {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("write %s: %v", msg, err)
		}
	}
	read := func() string {
		t.Helper()
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(data)
	}
	send(`{"action":"echo"}`)
	var hello struct{ ConnectionID string }
	if err := json.Unmarshal([]byte(read()), &hello); err != nil || hello.ConnectionID == "" {
		t.Fatalf("echo route answered no connectionId: %v", err)
	}
	resp, err := http.Post("http://"+addr+"/dev/@connections/"+hello.ConnectionID, "application/json", strings.NewReader(`{"pushed":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PostToConnection: %s", resp.Status)
	}
	if got := read(); got != `{"pushed":true}` {
		t.Fatalf("push arrived as %q", got)
	}
	send(`{"action":"fail"}`)
	send(`{"action":"down"}`)
	send(`{"action":"nowhere"}`)
	// The unreachable backend and the missing route are answered with AWS's error frames
	// ("Internal server error", "Forbidden"); the one-way route whose backend answered 500 is not.
	for i := 0; i < 2; i++ {
		if got := read(); !strings.Contains(got, `"message"`) {
			t.Fatalf("error frame %d: %q", i+1, got)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Logf("close: %v", err)
	}
}

// syncBuffer is a bytes.Buffer for a child process's output read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
