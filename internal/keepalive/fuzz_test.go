package keepalive

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzTakenConnection sends arbitrary bytes after a first request on a taken connection: the
// server never panics, and once the client has sent everything the connection ends (answered,
// refused with 400/431, or closed) within a deadline.
func FuzzTakenConnection(f *testing.F) {
	f.Add([]byte(post("/a", "x") + post("/b", "yy")))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 99\r\n\r\nshort"))
	f.Add([]byte("HEAD / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"))
	f.Add([]byte("GET /raw HTTP/1.1\r\nConnection: upgrade\r\n\r\n"))
	f.Add([]byte("\r\n\r\n\n\nGET"))
	var panicked atomic.Value
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	ks := &Server{MaxBody: 1 << 10, MaxHeaderBytes: 1 << 10, ReadHeaderTimeout: 200 * time.Millisecond}
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				panicked.Store(p)
			}
		}()
		if strings.Contains(r.URL.RawQuery, "take") && ks.Take(w, r) {
			return
		}
		if r.URL.Path == "/raw" {
			if nc, _, err := w.(http.Hijacker).Hijack(); err == nil {
				nc.Close()
			}
			return
		}
		if r.URL.Path == "/flush" {
			w.Write([]byte("part"))
			w.(http.Flusher).Flush()
		}
		echo(w, r)
	})
	ks.Handler = root
	srv := &http.Server{Handler: root}
	go func() { _ = srv.Serve(ln) }()
	f.Cleanup(func() { _ = srv.Close(); ks.Close() })
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			io.WriteString(c, post("/first?take", "1"))
			c.Write(in)
			c.(*net.TCPConn).CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("the connection did not end after the client finished: %v", err)
		}
		if p := panicked.Load(); p != nil {
			t.Fatalf("handler panicked: %v", p)
		}
	})
}
