package management

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPostToConnection measures the handler's own cost per PostToConnection (routing, body
// read, answer, request id) with a no-op Backend, in loopback mode: what every push pays before
// the hub.
func BenchmarkPostToConnection(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
	}{{"64B", 64}, {"4KiB", 4 << 10}} {
		size := c.size
		b.Run(c.name, func(b *testing.B) {
			h := New(Options{Stage: "dev", Backend: okBackend{}})
			body := bytes.Repeat([]byte("x"), size)
			req := httptest.NewRequest(http.MethodPost, "/dev/@connections/Dwz4leekPHcCG6Q%3D", nil)
			req.RemoteAddr = "127.0.0.1:1"
			rd := bytes.NewReader(body)
			w := &discardWriter{h: http.Header{}}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				req.Body, req.ContentLength = readCloser{rd}, int64(size)
				clear(w.h)
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// discardWriter is a ResponseWriter that keeps only the status, so the benchmark measures the
// handler rather than a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
