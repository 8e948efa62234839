package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/benchfloor"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// idleYAML is the gateway the idle benchmarks hold connections on: the demo's shape (a MOCK
// $default route), quiet logs, and pings far enough apart that none is sent during a run.
const idleYAML = `stage: dev
routeSelectionExpression: $request.body.action
limits: { pingInterval: 10m, idleTimeout: 2h }
log: { level: error }
routes:
  $default: { integration: echo, routeResponse: true }
integrations:
  echo:
    type: MOCK
    responses:
      $default:
        templateSelectionExpression: \$default
        templates:
          $default: '{"echo":"$util.escapeJavaScript($input.body)"}'
`

// dialWorkers is how many raw handshakes run at once.
const dialWorkers = 16

// benchConnCounts reads WSGATE_BENCH_CONNS ("1000,5000") or returns def, dropping counts that
// do not fit under the open-file limit (perConn descriptors each in this process, plus slack).
func benchConnCounts(b *testing.B, def []int, perConn int) []int {
	limit, err := raiseFileLimit()
	if err != nil {
		b.Fatalf("open-file limit: %v", err)
	}
	counts := def
	if s := os.Getenv("WSGATE_BENCH_CONNS"); s != "" {
		counts = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("WSGATE_BENCH_CONNS=%q: want a comma-separated list of positive counts", s)
			}
			counts = append(counts, n)
		}
	}
	var out []int
	for _, n := range counts {
		if uint64(n*perConn+300) > limit {
			b.Logf("skipping %d connections: %d descriptors each do not fit the open-file limit %d", n, perConn, limit)
			continue
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkIdleConnMemory holds N idle WebSockets on a wsgate binary and on the bare nbio echo
// server (the floor: internal/benchfloor, run as `wsgate-bench bare-server`, the same process
// the load generator's --spawn-bare measures), each a child process, and reports what one more idle
// connection costs the server: its RSS (/proc/PID/status VmRSS, after a warm-up and once it has
// settled, minus the same reading before the connections) and, for wsgate, goroutines (from
// its /metrics). Clients are raw sockets in this process, so the children hold one descriptor
// per connection and the sweep can go up to the hard open-file limit. Run with -benchtime=1x:
// every run measures once; ns/op is the time to open and settle N connections.
//
//	go test -run '^$' -bench IdleConnMemory -benchtime=1x ./internal/server
//	WSGATE_BENCH_CONNS=1000,19000 go test -run '^$' -bench IdleConnMemory -benchtime=1x ./internal/server
//
// WSGATE_BENCH_BIN=/path/to/wsgate measures that binary instead of building ./cmd/wsgate.
func BenchmarkIdleConnMemory(b *testing.B) {
	counts := benchConnCounts(b, []int{1000, 5000, 10000, 19000}, 1)
	dir := b.TempDir()
	wsgateBin := os.Getenv("WSGATE_BENCH_BIN") // another build to compare, e.g. before a change
	if wsgateBin == "" {
		wsgateBin = goBuild(b, dir, "github.com/wsgate/wsgate/cmd/wsgate")
	}
	floorBin := goBuild(b, dir, "github.com/wsgate/wsgate/cmd/wsgate-bench")
	for _, n := range counts {
		var floor float64
		b.Run(fmt.Sprintf("conns=%d/nbio", n), func(b *testing.B) {
			c := startFloor(b, floorBin)
			m := measureIdle(b, c, "/", n, nil)
			floor = m.rssPerConn
			b.ReportMetric(m.rssPerConn, "rss-B/conn")
		})
		b.Run(fmt.Sprintf("conns=%d/wsgate", n), func(b *testing.B) {
			c := startWsgate(b, wsgateBin, dir)
			m := measureIdle(b, c, "/dev", n, func() (map[string]float64, error) { return scrape(c.addr) })
			b.ReportMetric(m.rssPerConn, "rss-B/conn")
			b.ReportMetric(m.goroutinesPerConn, "goroutines/conn")
			if floor > 0 {
				b.ReportMetric(m.rssPerConn/floor, "x-nbio")
			}
		})
	}
}

// BenchmarkIdleConnHeap holds N idle connections on a gateway started in this process and
// reports its Go heap per connection after a forced GC (HeapInuse delta), goroutines per
// connection, and bytes allocated per handshake (alloc-B/conn, garbage included); before it,
// the same on the bare nbio floor (internal/benchfloor) in this process, and wsgate's heap per
// connection over the floor's (x-nbio: live bytes, the part of RSS that GC headroom
// multiplies, without RSS's noise). The raw clients add nothing to the heap but their
// descriptors, which the process holds twice (both ends), hence the lower counts.
//
//	WSGATE_BENCH_HEAPPROFILE=/tmp/idle.pprof go test -run '^$' -bench IdleConnHeap -benchtime=1x \
//	    -memprofilerate=512 ./internal/server && go tool pprof -sample_index=inuse_space -top /tmp/idle.pprof
//
// (the profile is wsgate's; the floor's goes to $WSGATE_BENCH_HEAPPROFILE.nbio, for -base).
func BenchmarkIdleConnHeap(b *testing.B) {
	for _, n := range benchConnCounts(b, []int{1000, 5000, 9000}, 2) {
		var floor float64
		b.Run(fmt.Sprintf("conns=%d/nbio", n), func(b *testing.B) {
			fl, err := benchfloor.Start("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer fl.Stop()
			warm, err := rawDial(fl.Addr(), "/", 200, dialWorkers)
			if err != nil {
				b.Fatal(err)
			}
			rawClose(warm)
			before, total0 := heapNow()
			g0 := runtime.NumGoroutine()
			b.ResetTimer()
			fds, err := rawDial(fl.Addr(), "/", n, dialWorkers)
			if err != nil {
				b.Fatal(err)
			}
			defer rawClose(fds)
			// The 101 is written before the socket moves to nbio's poller: wait until every
			// handshake's net/http goroutine is gone.
			harness.EventuallyWithin(b, time.Minute, "handshakes to finish", func() bool { return runtime.NumGoroutine() <= g0 })
			b.StopTimer()
			after, total1 := heapNow()
			writeHeapProfileTo(b, ".nbio")
			floor = float64(int64(after)-int64(before)) / float64(n)
			b.ReportMetric(floor, "heap-B/conn")
			b.ReportMetric(float64(total1-total0)/float64(n), "alloc-B/conn")
		})
		b.Run(fmt.Sprintf("conns=%d/wsgate", n), func(b *testing.B) {
			srv := startBenchServer(b, idleYAML)
			warm, err := rawDial(srv.Addr(), "/dev", 200, dialWorkers)
			if err != nil {
				b.Fatal(err)
			}
			rawClose(warm)
			harness.EventuallyWithin(b, time.Minute, "warm-up connections to close", func() bool { return srv.Hub().Len() == 0 })
			before, total0 := heapNow()
			g0 := runtime.NumGoroutine()
			b.ResetTimer()
			fds, err := rawDial(srv.Addr(), "/dev", n, dialWorkers)
			if err != nil {
				b.Fatal(err)
			}
			defer rawClose(fds)
			harness.EventuallyWithin(b, time.Minute, "connections to register", func() bool { return srv.Hub().Len() == n })
			b.StopTimer()
			after, total1 := heapNow()
			g1 := runtime.NumGoroutine()
			writeHeapProfileTo(b, "")
			heap := float64(int64(after)-int64(before)) / float64(n)
			b.ReportMetric(heap, "heap-B/conn")
			b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
			b.ReportMetric(float64(total1-total0)/float64(n), "alloc-B/conn")
			if floor > 0 {
				b.ReportMetric(heap/floor, "x-nbio")
			}
		})
	}
}

// writeHeapProfileTo writes a heap profile to $WSGATE_BENCH_HEAPPROFILE+suffix while the
// connections are still open (go test -memprofile writes its profile after they are closed).
func writeHeapProfileTo(b *testing.B, suffix string) {
	path := os.Getenv("WSGATE_BENCH_HEAPPROFILE")
	if path == "" {
		return
	}
	path += suffix
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// heapNow returns HeapInuse after a full GC, and the bytes allocated so far (TotalAlloc: the
// garbage a handshake leaves drives GC work and the RSS above the live heap).
func heapNow() (inuse, total uint64) {
	runtime.GC()
	runtime.GC() // the second cycle frees what the first one's finalizers released
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.TotalAlloc
}

type idleResult struct {
	rssPerConn        float64
	goroutinesPerConn float64
}

// measureIdle warms c up with a few connections, reads its RSS, opens n idle connections and
// reads it again once settled. metrics (optional) returns the server's Prometheus gauges; with
// it the run also waits for wsgate_connections_active and reports goroutines.
func measureIdle(b *testing.B, c *childProc, path string, n int, metrics func() (map[string]float64, error)) idleResult {
	b.Helper()
	active := func(want int) func() bool {
		return func() bool {
			if metrics == nil {
				return true
			}
			m, err := metrics()
			return err == nil && m["wsgate_connections_active"] == float64(want)
		}
	}
	warm, err := rawDial(c.addr, path, 200, dialWorkers)
	if err != nil {
		b.Fatalf("%v\n%s", err, c.stderr.String())
	}
	rawClose(warm)
	harness.EventuallyWithin(b, time.Minute, "warm-up connections to close", active(0))
	rss0 := c.settledRSS(b)
	var g0 float64
	if metrics != nil {
		m, err := metrics()
		if err != nil {
			b.Fatal(err)
		}
		g0 = m["go_goroutines"]
	}
	b.ResetTimer()
	fds, err := rawDial(c.addr, path, n, dialWorkers)
	if err != nil {
		b.Fatalf("%v\n%s", err, c.stderr.String())
	}
	defer rawClose(fds)
	harness.EventuallyWithin(b, time.Minute, "connections to register", active(n))
	rss1 := c.settledRSS(b)
	b.StopTimer()
	r := idleResult{rssPerConn: float64(rss1-rss0) / float64(n)}
	if metrics != nil {
		m, err := metrics()
		if err != nil {
			b.Fatal(err)
		}
		r.goroutinesPerConn = (m["go_goroutines"] - g0) / float64(n)
	}
	b.Logf("%d connections: RSS %d -> %d KiB", n, rss0>>10, rss1>>10)
	return r
}

// goBuild builds pkg into dir and returns the binary's path.
func goBuild(b *testing.B, dir, pkg string) string {
	b.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// childProc is a server under measurement, stopped (SIGTERM, then SIGKILL) at cleanup.
type childProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
}

func startChild(b *testing.B, bin string, args ...string) (*childProc, io.Reader) {
	b.Helper()
	c := &childProc{cmd: exec.Command(bin, args...), stderr: &bytes.Buffer{}}
	c.cmd.Stderr = c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	})
	return c, stdout
}

// startFloor starts `wsgate-bench bare-server` (internal/benchfloor) on a free port; it prints
// its address on its first line.
func startFloor(b *testing.B, bin string) *childProc {
	c, stdout := startChild(b, bin, "bare-server", "--listen", "127.0.0.1:0")
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("wsgate-bench bare-server did not print its address: %v\n%s", err, c.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	c.addr = strings.TrimSpace(line)
	return c
}

// startWsgate starts `wsgate serve` on a free loopback port with idleYAML.
func startWsgate(b *testing.B, bin, dir string) *childProc {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	file := filepath.Join(dir, "idle.yaml")
	if err := os.WriteFile(file, []byte("listen: "+addr+"\n"+idleYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	c, stdout := startChild(b, bin, "serve", "--config", file)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	c.addr = addr
	harness.EventuallyWithin(b, time.Minute, "wsgate /healthz", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return c
}

// rss reads VmRSS from /proc/PID/status, in bytes.
func (c *childProc) rss() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", c.cmd.Process.Pid)
}

// settledRSS reads RSS until two readings 200 ms apart differ by less than 64 KiB (at most 10
// s), so that work still finishing (handshake goroutines exiting) is not half counted.
func (c *childProc) settledRSS(b *testing.B) int64 {
	b.Helper()
	prev, err := c.rss()
	if err != nil {
		b.Fatal(err)
	}
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		cur, err := c.rss()
		if err != nil {
			b.Fatal(err)
		}
		if d := cur - prev; d > -64<<10 && d < 64<<10 {
			return cur
		}
		prev = cur
	}
	return prev
}

// scrape reads the gauges of a node's /metrics (unlabelled series only).
func scrape(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.Contains(line, "{") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			m[name] = v
		}
	}
	return m, sc.Err()
}
