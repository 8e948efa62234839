package keepalive

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the server's writes to its sockets.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) NetConn() net.Conn { return c.Conn }

func (c *countingConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// start serves handler on a loopback net/http server whose every request is offered to Take
// (what the gateway's server does for management requests).
func start(t *testing.T, handler http.HandlerFunc) (*Server, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	ks := &Server{MaxBody: 1 << 10, MaxHeaderBytes: 2 << 10}
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "take") && ks.Take(w, r) {
			return
		}
		handler(w, r)
	})
	ks.Handler = root
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(cl) }()
	t.Cleanup(func() { _ = srv.Close(); ks.Close() })
	return ks, cl
}

// echo answers "<method> <path> <body>" with a request id header.
func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header()["X-Amzn-Requestid"] = []string{"id-" + r.URL.Path}
	w.Header().Set("Content-Type", "text/plain")
	if r.URL.Path == "/empty" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
}

func dial(t *testing.T, ln net.Listener) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

func read(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading a body: %v", err)
	}
	return resp, string(b)
}

func post(path, body string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// TestPipelinedAnswersAreFlushedTogether sends a first request (taken), then 20 pipelined
// requests in one write: all 20 answers come back in order, with Date, Content-Length and the
// handler's headers, in far fewer writes than answers (net/http writes each one).
func TestPipelinedAnswersAreFlushedTogether(t *testing.T) {
	_, ln := start(t, echo)
	c, br := dial(t, ln)
	if _, err := io.WriteString(c, post("/first?take", "one")); err != nil {
		t.Fatal(err)
	}
	if resp, body := read(t, br, "POST"); resp.StatusCode != 200 || body != "POST /first one" {
		t.Fatalf("first answer %d %q", resp.StatusCode, body)
	}
	before := ln.writes.Load()
	var batch strings.Builder
	const n = 20
	for i := range n {
		batch.WriteString(post(fmt.Sprint("/p", i), fmt.Sprint("body", i)))
	}
	if _, err := io.WriteString(c, batch.String()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		resp, body := read(t, br, "POST")
		if want := fmt.Sprintf("POST /p%d body%d", i, i); resp.StatusCode != 200 || body != want {
			t.Fatalf("answer %d: %d %q, want %q", i, resp.StatusCode, body, want)
		}
		if resp.Header.Get("Date") == "" || resp.ContentLength != int64(len(body)) ||
			resp.Header.Get("X-Amzn-Requestid") != fmt.Sprint("id-/p", i) || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("answer %d headers %v (length %d)", i, resp.Header, resp.ContentLength)
		}
	}
	// One read normally holds all 20 (one write of ~1.3 KB on loopback); allow for a split.
	if w := ln.writes.Load() - before; w > 4 {
		t.Errorf("%d pipelined answers took %d writes, want them flushed together (<= 4)", n, w)
	}
}

// TestOneRequestInFlight: a client that waits for each answer (the AWS SDKs) gets each at once.
func TestOneRequestInFlight(t *testing.T) {
	_, ln := start(t, echo)
	c, br := dial(t, ln)
	for i := range 5 {
		path := fmt.Sprint("/one", i, "?take")
		if _, err := io.WriteString(c, post(path, "x")); err != nil {
			t.Fatal(err)
		}
		if resp, body := read(t, br, "POST"); resp.StatusCode != 200 || body != fmt.Sprint("POST /one", i, " x") {
			t.Fatalf("answer %d: %d %q", i, resp.StatusCode, body)
		}
	}
}

// TestSemantics: 204 without a length, HEAD without a body, Expect: 100-continue, a body the
// handler does not read, Connection: close, a malformed request (400) and a head too large
// (431) on a taken connection.
func TestSemantics(t *testing.T) {
	_, ln := start(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/skip" { // leaves the body unread
			w.WriteHeader(http.StatusAccepted)
			return
		}
		echo(w, r)
	})
	c, br := dial(t, ln)
	io.WriteString(c, post("/first?take", ""))
	read(t, br, "POST")

	io.WriteString(c, "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := read(t, br, "GET"); resp.StatusCode != 204 || body != "" || resp.Header.Get("Content-Length") != "" {
		t.Fatalf("204: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	io.WriteString(c, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := read(t, br, "HEAD"); resp.StatusCode != 200 {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
	io.WriteString(c, "POST /cont HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 100 Continue") {
		t.Fatalf("Expect: 100-continue answered %q", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "body")
	if resp, body := read(t, br, "POST"); resp.StatusCode != 200 || body != "POST /cont body" {
		t.Fatalf("after 100: %d %q", resp.StatusCode, body)
	}
	io.WriteString(c, post("/skip", "unread")+post("/after", "x"))
	if resp, _ := read(t, br, "POST"); resp.StatusCode != 202 {
		t.Fatalf("skip: %d", resp.StatusCode)
	}
	if _, body := read(t, br, "POST"); body != "POST /after x" {
		t.Fatalf("the request after an unread body: %q", body)
	}

	io.WriteString(c, "POST /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	if resp, _ := read(t, br, "POST"); !resp.Close {
		t.Fatalf("Connection: close not honoured: %v", resp.Header)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after Connection: close: %v", err)
	}

	c, br = dial(t, ln)
	io.WriteString(c, post("/first?take", "")+"GARBAGE\r\n\r\n")
	read(t, br, "POST")
	if resp, _ := read(t, br, "GET"); resp.StatusCode != 400 {
		t.Fatalf("malformed request: %d", resp.StatusCode)
	}

	c, br = dial(t, ln)
	io.WriteString(c, post("/first?take", "")+"GET /big HTTP/1.1\r\nX: "+strings.Repeat("a", 8<<10)+"\r\n\r\n")
	read(t, br, "POST")
	if resp, _ := read(t, br, "GET"); resp.StatusCode != 431 {
		t.Fatalf("head over MaxHeaderBytes: %d", resp.StatusCode)
	}
}

// TestHijackAfterTake: a request that hijacks (a WebSocket upgrade) on a taken connection gets
// the raw connection, after the answers before it.
func TestHijackAfterTake(t *testing.T) {
	_, ln := start(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/raw" {
			echo(w, r)
			return
		}
		nc, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nraw bytes")
		nc.Close()
	})
	c, br := dial(t, ln)
	io.WriteString(c, post("/first?take", "a")+post("/second", "b")+"GET /raw HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n")
	read(t, br, "POST")
	if _, body := read(t, br, "POST"); body != "POST /second b" {
		t.Fatalf("second: %q", body)
	}
	line, _ := br.ReadString('\n')
	rest, _ := io.ReadAll(br)
	if !strings.HasPrefix(line, "HTTP/1.1 101") || !strings.HasSuffix(string(rest), "raw bytes") {
		t.Fatalf("after hijack: %q %q", line, rest)
	}
}

// TestCloseEndsIdleConnections: Close closes a taken connection waiting for its next request.
func TestCloseEndsIdleConnections(t *testing.T) {
	ks, ln := start(t, echo)
	c, br := dial(t, ln)
	io.WriteString(c, post("/first?take", ""))
	read(t, br, "POST")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ks.mu.Lock()
		n := len(ks.conns)
		ks.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection was not taken")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Wait until it is idle (it flushed and went back to reading).
	for !func() bool {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		for c := range ks.conns {
			return c.idle.Load()
		}
		return false
	}() {
		if time.Now().After(deadline) {
			t.Fatal("the connection never went idle")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ks.Close()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection after Close: %v, want EOF", err)
	}
}
