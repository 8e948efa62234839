package keepalive

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

type ctxKey struct{}

// serveHeads serves every connection of a loopback listener with ServeHead: the server reads
// the connection's first line-delimited head itself, as the gateway's listener does with the
// head it peeked.
func serveHeads(t *testing.T, handler http.HandlerFunc) (*Server, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ks := &Server{Handler: handler, MaxHeaderBytes: 2 << 10}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				head := readHead(c)
				ks.ServeHead(c, context.WithValue(context.Background(), ctxKey{}, "conn ctx"), head)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); ks.Close() })
	return ks, ln
}

// readHead reads byte by byte up to the empty line, so that nothing after the head is taken.
func readHead(c net.Conn) []byte {
	var head []byte
	b := make([]byte, 1)
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := c.Read(b); err != nil {
			return head
		}
		head = append(head, b[0])
	}
	return head
}

const wsHead = "GET /dev HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"

// A connection served from its head: the handler gets the request with the caller's context and
// the client's address; a refusal is answered with Content-Length and the connection carries the
// next request; a body without Content-Type gets net/http's sniffed one; an upgrade hijacks it with nothing buffered lost (the bytes sent after the head
// are read through the hijacked connection).
func TestServeHead(t *testing.T) {
	_, ln := serveHeads(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Context().Value(ctxKey{}); got != "conn ctx" && r.URL.Path == "/dev" {
			t.Errorf("%s: context value %v", r.URL, got)
		}
		if !strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") || r.Host != "x" || r.RequestURI != r.URL.String() {
			t.Errorf("request %q: remote %q, host %q", r.RequestURI, r.RemoteAddr, r.Host)
		}
		switch {
		case r.URL.Path == "/sniff":
			io.WriteString(w, "no Content-Type set")
		case r.URL.Query().Get("refuse") != "":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Unauthorized"}`)
		case r.Header.Get("Upgrade") == "websocket":
			nc, rw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer nc.Close()
			if rw.Reader.Buffered() != 0 {
				t.Errorf("%d bytes buffered at the hijack", rw.Reader.Buffered())
			}
			io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\n\r\n")
			b := make([]byte, 5)
			if _, err := io.ReadFull(nc, b); err != nil || string(b) != "frame" {
				t.Errorf("after the hijack the connection reads %q, %v", b, err)
			}
			io.WriteString(nc, "done")
		default:
			echo(w, r)
		}
	})

	c, br := dial(t, ln)
	io.WriteString(c, strings.Replace(wsHead, "/dev", "/dev?refuse=1", 1))
	resp, body := read(t, br, "GET")
	if resp.StatusCode != 401 || body != `{"message":"Unauthorized"}` || resp.Header.Get("Date") == "" || resp.Close {
		t.Fatalf("refusal: %d %q %v close=%v", resp.StatusCode, body, resp.Header, resp.Close)
	}
	io.WriteString(c, post("/next", "b"))
	if _, body := read(t, br, "POST"); body != "POST /next b" {
		t.Fatalf("the request after the refusal: %q", body)
	}
	io.WriteString(c, "GET /sniff HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := read(t, br, "GET"); body != "no Content-Type set" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("an answer without Content-Type: %q %v", body, resp.Header)
	}

	c2, br2 := dial(t, ln)
	io.WriteString(c2, wsHead+"frame")
	line, _ := br2.ReadString('\n')
	rest, _ := io.ReadAll(br2)
	if line != "HTTP/1.1 101 Switching Protocols\r\n" || string(rest) != "\r\ndone" {
		t.Fatalf("upgrade: %q %q", line, rest)
	}
}

// A head net/http's parser refuses is answered 400 and the connection closed, as net/http's
// server does.
func TestServeHeadRefusesMalformed(t *testing.T) {
	called := make(chan struct{}, 1)
	_, ln := serveHeads(t, func(w http.ResponseWriter, r *http.Request) { called <- struct{}{} })
	c, br := dial(t, ln)
	io.WriteString(c, "GET /dev HTTP/1.1\r\nHost: x\r\nBad\x01Name: v\r\n\r\n")
	resp, _ := read(t, br, "GET")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the 400 the connection reads %v, want EOF", err)
	}
	select {
	case <-called:
		t.Fatal("the handler was called for a malformed head")
	default:
	}
}
