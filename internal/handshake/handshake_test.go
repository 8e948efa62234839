package handshake

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, in string
		want     Head
		err      error
	}{
		{"spelling, order and repeats kept",
			"GET /dev?a=1 HTTP/1.1\r\nHost: h\r\nX-Multi: a\r\nx-api-key:k1\r\nX-Multi:  b \r\n\r\n",
			Head{Method: "GET", Target: "/dev?a=1", Proto: "HTTP/1.1", Bytes: 49, Fields: []Field{
				{"Host", "h"}, {"X-Multi", "a"}, {"x-api-key", "k1"}, {"X-Multi", "b"}}}, nil},
		{"bare LF", "GET / HTTP/1.1\nA: 1\n\nbody",
			Head{Method: "GET", Target: "/", Proto: "HTTP/1.1", Bytes: 5, Fields: []Field{{"A", "1"}}}, nil},
		{"empty value", "GET / HTTP/1.1\r\nA:\r\n\r\n",
			Head{Method: "GET", Target: "/", Proto: "HTTP/1.1", Bytes: 4, Fields: []Field{{"A", ""}}}, nil},
		{"no end", "GET / HTTP/1.1\r\nA: 1\r\n", Head{}, ErrIncomplete},
		{"folded line", "GET / HTTP/1.1\r\nA: 1\r\n  more\r\n\r\n", Head{}, ErrMalformed},
		{"no colon", "GET / HTTP/1.1\r\nA 1\r\n\r\n", Head{}, ErrMalformed},
		{"space before colon", "GET / HTTP/1.1\r\nA : 1\r\n\r\n", Head{}, ErrMalformed},
		{"bad request line", "GET\r\n\r\n", Head{}, ErrMalformed},
	}
	for _, tc := range cases {
		got, err := Parse([]byte(tc.in))
		if !errors.Is(err, tc.err) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Parse = %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("GET /dev?a=1 HTTP/1.1\r\nHost: h\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\nA: 1\n\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nA: 1\r\n  more\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		// Count reports what Parse does, and refuses what it refuses.
		n, size, cerr := Count(b)
		if (err == nil) != (cerr == nil) || (err == nil && (n != len(h.Fields) || size != h.Bytes)) {
			t.Fatalf("Count = %d, %d, %v; Parse = %d fields, %d bytes, %v; head %q", n, size, cerr, len(h.Fields), h.Bytes, err, b)
		}
		if err != nil {
			return
		}
		if h.Bytes > len(b) {
			t.Fatalf("Bytes %d > input %d", h.Bytes, len(b))
		}
		for _, f := range h.Fields {
			if f.Name == "" || strings.ContainsAny(f.Name, ":\r\n") || strings.ContainsAny(f.Value, "\r\n") {
				t.Fatalf("field %q", f)
			}
		}
		// The recorder's scan finds the same end as Parse.
		if end, _ := endOfHead(b, 0); end < 0 {
			t.Fatalf("Parse found a head, endOfHead did not: %q", b)
		}
	})
}

// A real net/http server behind the listener sees the WebSocket upgrade request's head as sent,
// in reads of any size, also after other requests on the same keep-alive connection (bodies of
// fixed length and chunked, in separate writes or pipelined in one), and never takes a head
// written inside a body for the real one. Recording stops at the upgrade request (a second one
// on the connection falls back); a head over the bound is ErrTooLarge; Unwrap hands the
// hijacker the connection underneath.
func TestListenerRecordsUpgradeHead(t *testing.T) {
	type seen struct {
		path     string
		head     Head
		ok       bool
		err      error
		hijacked net.Conn
	}
	got := make(chan seen, 16)
	srv := &http.Server{
		ConnContext: ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h, ok, err := Of(r)
			s := seen{path: r.URL.Path, head: h, ok: ok, err: err}
			if r.URL.Path == "/hijack" {
				c, _, herr := Hijack(w)
				if herr == nil {
					s.hijacked = c
					_, _ = c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
					_ = c.Close()
				}
			}
			got <- s
		}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(NewListener(ln, 300)) }()
	t.Cleanup(func() { _ = srv.Close() })

	// send writes parts (each its own write, so the server reads them apart) and reads n answers.
	send := func(c net.Conn, br *bufio.Reader, n int, parts ...string) *http.Response {
		t.Helper()
		for _, p := range parts {
			if _, err := c.Write([]byte(p)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		var resp *http.Response
		for range n {
			var err error
			if resp, err = http.ReadResponse(br, nil); err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		return resp
	}
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	const upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	wantUpgrade := func(what string, want []Field) {
		t.Helper()
		for s := range got {
			if s.path != "/ws" {
				if s.ok || s.err != nil {
					t.Fatalf("%s: request %s got a head: %+v", what, s.path, s)
				}
				continue
			}
			if !s.ok || s.err != nil || s.head.Target != "/ws?x=1" || !reflect.DeepEqual(s.head.Fields, want) {
				t.Fatalf("%s: upgrade request: %+v, want fields %v", what, s, want)
			}
			return
		}
	}
	// A fake upgrade head, same request line as the real one, inside each body.
	fake := "GET /ws?x=1 HTTP/1.1\r\nHost: h\r\n" + upgrade + "X-Injected: 1\r\n\r\n"
	chunked := "POST /c HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\n\r\n" +
		"5;ext=1\r\nhello\r\n" + fmt.Sprintf("%x", len(fake)) + "\r\n" + fake + "\r\n0\r\nX-Trailer: t\r\n\r\n"
	fixed := "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: " + fmt.Sprint(len(fake)) + "\r\n\r\n" + fake
	real := "GET /ws?x=1 HTTP/1.1\r\nHost: h\r\nX-M"
	realRest := []string{"ulti: a\r\nx-multi: b\r", "\n" + upgrade + "\r\n"}
	want := []Field{{"Host", "h"}, {"X-Multi", "a"}, {"x-multi", "b"}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"}}

	c, br := dial()
	send(c, br, 1, "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n")
	send(c, br, 1, fixed[:40], fixed[40:])
	send(c, br, 1, chunked[:60], chunked[60:90], chunked[90:])
	send(c, br, 1, append([]string{real}, realRest...)...)
	wantUpgrade("after three requests in separate writes", want)
	send(c, br, 1, real+strings.Join(realRest, ""))
	if s := <-got; s.ok || s.err != nil {
		t.Fatalf("second upgrade request on the connection: ok=%v err=%v, want a fallback", s.ok, s.err)
	}

	c, br = dial()
	send(c, br, 4, "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n"+fixed+chunked+real+strings.Join(realRest, ""))
	wantUpgrade("pipelined in one write", want)

	c, br = dial()
	if resp := send(c, br, 1, "GET /big HTTP/1.1\r\nHost: h\r\nX-Big: "+strings.Repeat("a", 400)+"\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if s := <-got; !errors.Is(s.err, ErrTooLarge) {
		t.Fatalf("head over the bound: err=%v, want ErrTooLarge", s.err)
	}

	c, br = dial()
	if resp := send(c, br, 1, "GET /hijack HTTP/1.1\r\nHost: h\r\n"+upgrade+"\r\n"); resp.StatusCode != 204 {
		t.Fatalf("hijack status %d", resp.StatusCode)
	}
	s := <-got
	if _, ok := s.hijacked.(*net.TCPConn); !ok {
		t.Fatalf("Unwrap's Hijack returned %T, want *net.TCPConn", s.hijacked)
	}
}

// A head that does not say what net/http parsed is not handed out.
func TestSameHeader(t *testing.T) {
	fields := []Field{{"Host", "h"}, {"x-a", "1"}, {"X-A", "2"}, {"B", "3"}}
	if !sameHeader(fields, http.Header{"X-A": {"1", "2"}, "B": {"3"}}) {
		t.Error("same lines: false")
	}
	for _, h := range []http.Header{
		{"X-A": {"2", "1"}, "B": {"3"}},
		{"X-A": {"1", "2"}, "B": {"3"}, "C": {"4"}},
		{"X-A": {"1"}, "B": {"3"}},
		{"X-A": {"1", "2"}, "B": {"x"}},
	} {
		if sameHeader(fields, h) {
			t.Errorf("%v: true, want false", h)
		}
	}
}

// The recorder ends in the same state whatever the sizes of the reads it sees: fed a stream at
// once and split at any point, it hands out the same head (or none) and the same over flag.
func FuzzRecorderSplits(f *testing.F) {
	up := "GET /ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\nX: 1\r\n\r\n"
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"+up), uint16(5))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"+up), uint16(40))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n"+up), uint16(57))
	f.Add([]byte("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nab"+up), uint16(3))
	f.Fuzz(func(t *testing.T, stream []byte, at uint16) {
		whole := &Conn{max: 512}
		whole.record(stream)
		split := &Conn{max: 512}
		k := int(at) % (len(stream) + 1)
		split.record(stream[:k])
		if !split.done.Load() {
			split.record(stream[k:])
		}
		if !bytes.Equal(whole.head, split.head) || whole.over != split.over || whole.done.Load() != split.done.Load() {
			t.Fatalf("split at %d: head %q over %v done %v; at once: head %q over %v done %v",
				k, split.head, split.over, split.done.Load(), whole.head, whole.over, whole.done.Load())
		}
		if whole.head != nil {
			if _, err := Parse(whole.head); err != nil {
				// Not every recorded head parses (Of then falls back), but it is a whole head.
				if end, _ := endOfHead(whole.head, 0); end != len(whole.head) {
					t.Fatalf("recorded head %q does not end with its empty line", whole.head)
				}
			}
		}
	})
}

func TestFromContextWithoutRecorder(t *testing.T) {
	r, _ := http.NewRequestWithContext(context.Background(), "GET", "/", nil)
	if _, ok, err := Of(r); ok || err != nil {
		t.Fatalf("Of without a recorder: ok=%v err=%v", ok, err)
	}
}

// A head is parsed in two allocations (its string and its fields), whatever its line count:
// Parse runs on every WebSocket handshake for the header caps.
func TestParseAllocs(t *testing.T) {
	head := []byte("GET /dev?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nUser-Agent: test\r\n" +
		"X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\n\r\n")
	h, err := Parse(head)
	if err != nil || len(h.Fields) != 10 || h.Target != "/dev?x=1" || h.Proto != "HTTP/1.1" {
		t.Fatalf("Parse = %+v, %v", h, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(head) }); n > 2 {
		t.Errorf("Parse allocates %.0f times per head, want at most 2", n)
	}
	// Count, which the gateway uses when only the header limits read the head, builds nothing.
	if n, size, err := Count(head); err != nil || n != len(h.Fields) || size != h.Bytes {
		t.Fatalf("Count = %d, %d, %v; want %d, %d", n, size, err, len(h.Fields), h.Bytes)
	}
	if n := testing.AllocsPerRun(100, func() { _, _, _ = Count(head) }); n != 0 {
		t.Errorf("Count allocates %.0f times per head, want 0", n)
	}
}
