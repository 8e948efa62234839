package server_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
)

// BenchmarkHTTPProxyRoundTrip is one message through a two-way route to an HTTP_PROXY
// integration on a loopback backend (net/http, echoing the body) and its answer back at the
// client: frame read, route selection, the job queue, the integration's HTTP call over a
// kept-alive connection, the frame write. One message in flight: latency per message; the
// backend's own cost is in the figure too.
func BenchmarkHTTPProxyRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go func() { _ = backend.Serve(ln) }()
	b.Cleanup(func() { _ = backend.Close() })
	srv := startBenchServer(b, `stage: dev
routeSelectionExpression: $request.body.action
routes:
  $default: { integration: backend, routeResponse: true }
integrations:
  backend: { type: HTTP_PROXY, uri: "http://`+ln.Addr().String()+`/echo" }
`)
	ws := dialBenchWS(b, srv.Addr(), "/dev")
	msg := []byte(`{"action":"echo","data":{"room":"lobby","seq":1}}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.send(msg); err != nil {
			b.Fatal(err)
		}
		op, got, err := ws.recv()
		if err != nil || op != 1 || !bytes.Equal(got, msg) {
			b.Fatalf("client got opcode %d %q, %v", op, got, err)
		}
	}
}
