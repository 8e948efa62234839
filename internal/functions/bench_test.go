//go:build linux

package functions

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/lambda"
)

// What a warm invocation costs on top of the handler's own time (the handlers here return their
// event at once), against the Lambda Invoke API path that --function Name=URL takes. Reported:
// p50 and p99 latency of one synchronous Invoke, and the CPU the wsgate process spends per
// invocation (user+system, from getrusage; the runtime process's own CPU is not counted).
//
//	go test -run '^$' -bench 'Invoke' -benchtime 3000x ./internal/functions/

const benchPayload = `{"requestContext":{"routeKey":"$default","eventType":"MESSAGE","connectionId":"L0SM9cOFvHcCIhw="},"body":"{\"action\":\"echo\",\"data\":\"hello\"}","isBase64Encoded":false}`

func BenchmarkInvokeWarmNode(b *testing.B) {
	if testing.Short() {
		b.Skip("starts node")
	}
	need(b, "node")
	dir := writeFiles(b, map[string]string{"index.js": "exports.handler = async (event) => event;"})
	benchInvoke(b, benchFunction(b, Spec{Name: "node", Runtime: "nodejs20.x", Handler: "index.handler", CodeDir: dir, Concurrency: 1}))
}

func BenchmarkInvokeWarmPython(b *testing.B) {
	if testing.Short() {
		b.Skip("starts python3")
	}
	need(b, "python3")
	dir := writeFiles(b, map[string]string{"app.py": "def handler(event, context):\n    return event\n"})
	benchInvoke(b, benchFunction(b, Spec{Name: "py", Runtime: "python3.12", Handler: "app.handler", CodeDir: dir, Concurrency: 1}))
}

// BenchmarkInvokeAPI is the Invoke API path: internal/lambda's client POSTing to an endpoint.
// The endpoint is a fake in this process that echoes the payload (a real Invoke API server,
// such as the Runtime Interface Emulator, does not install here; see internal/cli's
// tutorial_e2e_test.go), so this measures the HTTP round trip wsgate pays, not a runtime's.
func BenchmarkInvokeAPI(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	benchInvoke(b, lambda.New("fn", srv.URL, "us-east-1", &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}))
}

func benchFunction(b *testing.B, sp Spec) *Function {
	s, _ := newSet(b, Options{}, sp)
	f, _ := s.Function(sp.Name)
	return f
}

func benchInvoke(b *testing.B, fn lambda.Function) {
	ctx := context.Background()
	for range 20 { // warm: the process started, the JIT and connections ready
		if _, err := fn.Invoke(ctx, []byte(benchPayload)); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := fn.Invoke(ctx, []byte(benchPayload)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	slices.Sort(lat)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
	b.ReportMetric(float64(cpu.Microseconds()), "gw-cpu-us/op")
}
