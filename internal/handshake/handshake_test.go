package handshake

import (
	"bufio"
	"context"
	"errors"
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

// A real net/http server behind the listener sees each first request's head as sent, in reads
// of any size; a second request on the same connection falls back; a head over the bound is
// ErrTooLarge; Unwrap hands the hijacker the connection underneath.
func TestListenerRecordsFirstHead(t *testing.T) {
	type seen struct {
		head     Head
		ok       bool
		err      error
		hijacked net.Conn
	}
	got := make(chan seen, 4)
	srv := &http.Server{
		ConnContext: ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h, ok, err := Of(r)
			s := seen{head: h, ok: ok, err: err}
			if r.URL.Path == "/hijack" {
				c, _, herr := Unwrap(w).(http.Hijacker).Hijack()
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

	send := func(c net.Conn, parts ...string) *http.Response {
		t.Helper()
		for _, p := range parts {
			if _, err := c.Write([]byte(p)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond) // separate reads on the server
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}

	c := dial()
	send(c, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\nX-M", "ulti: a\r\nx-multi: b\r", "\n\r\n")
	s := <-got
	want := []Field{{"Host", "h"}, {"X-Multi", "a"}, {"x-multi", "b"}}
	if !s.ok || s.err != nil || s.head.Target != "/a?x=1" || !reflect.DeepEqual(s.head.Fields, want) {
		t.Fatalf("first request: %+v", s)
	}
	send(c, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n")
	if s := <-got; s.ok || s.err != nil {
		t.Fatalf("second request on the connection: ok=%v err=%v, want a fallback", s.ok, s.err)
	}

	c = dial()
	if resp := send(c, "GET /big HTTP/1.1\r\nHost: h\r\nX-Big: "+strings.Repeat("a", 400)+"\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if s := <-got; !errors.Is(s.err, ErrTooLarge) {
		t.Fatalf("head over the bound: err=%v, want ErrTooLarge", s.err)
	}

	c = dial()
	if resp := send(c, "GET /hijack HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 204 {
		t.Fatalf("hijack status %d", resp.StatusCode)
	}
	s = <-got
	if _, ok := s.hijacked.(*net.TCPConn); !ok {
		t.Fatalf("Unwrap's Hijack returned %T, want *net.TCPConn", s.hijacked)
	}
}

func TestFromContextWithoutRecorder(t *testing.T) {
	r, _ := http.NewRequestWithContext(context.Background(), "GET", "/", nil)
	if _, ok, err := Of(r); ok || err != nil {
		t.Fatalf("Of without a recorder: ok=%v err=%v", ok, err)
	}
}
