package handshake

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"

	"github.com/wsgate/wsgate/internal/ascii"
)

const upgradeHead = "GET /dev?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

func TestWholeUpgrade(t *testing.T) {
	cases := []struct {
		name, in string
		end      int // 0: refused; -1: all of in
	}{
		{"a client's upgrade", upgradeHead, len(upgradeHead)},
		{"a frame after it", upgradeHead + "\x81\x85abcd", len(upgradeHead)},
		{"Content-Length 0", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nContent-Length: 0\r\n\r\n", -1},
		{"bracketed IPv6 host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\nUpgrade: WebSocket\r\nConnection: upgrade\r\n\r\n", -1},
		{"not all here", upgradeHead[:len(upgradeHead)-2], 0},
		{"not an upgrade", "GET /dev HTTP/1.1\r\nHost: h\r\n\r\n", 0},
		{"POST", "POST /dev HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"absolute-form target", "GET http://h/ HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"no Host", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"two Host lines", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"odd Host", "GET / HTTP/1.1\r\nHost: a b\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"a body", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\nab", 0},
		{"chunked", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\nTransfer-Encoding: chunked\r\n\r\n", 0},
		{"an Expect line", "GET / HTTP/1.1\r\nHost: h\r\nExpect: foo\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"a name with a space", "GET / HTTP/1.1\r\nHost: h\r\nX A: b\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"a space before the colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : b\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0},
		{"token punctuation", "GET / HTTP/1.1\r\nHost: h\r\nX!#$%&'*+-.^_`|~1: b\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", -1},
		{"unframeable", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\nno colon\r\n\r\n", 0},
	}
	for _, tc := range cases {
		if tc.end < 0 {
			tc.end = len(tc.in)
		}
		end, ok := WholeUpgrade([]byte(tc.in))
		if ok != (tc.end > 0) || end != tc.end {
			t.Errorf("%s: WholeUpgrade = %d, %v; want %d", tc.name, end, ok, tc.end)
		}
	}
}

// What WholeUpgrade takes, net/http's request parser reads as a body-less GET upgrade whose head
// ends exactly where WholeUpgrade says: served from the head alone, the connection loses no byte
// and takes none of what follows.
func FuzzWholeUpgrade(f *testing.F) {
	f.Add([]byte(upgradeHead + "\x81\x85abcd"))
	f.Add([]byte("GET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: upgrade\n\nx"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		end, ok := WholeUpgrade(b)
		if !ok {
			return
		}
		rd := bytes.NewReader(b)
		br := bufio.NewReader(rd)
		r, err := http.ReadRequest(br)
		if err != nil {
			return // net/http refuses it too: ServeHead answers 400, as net/http's server does
		}
		if read := len(b) - rd.Len() - br.Buffered(); read != end {
			t.Fatalf("net/http read %d bytes of the head, WholeUpgrade says %d: %q", read, end, b)
		}
		if r.Method != http.MethodGet || !r.ProtoAtLeast(1, 1) || r.ContentLength > 0 || len(r.TransferEncoding) > 0 || r.Host == "" {
			t.Fatalf("WholeUpgrade took %q: %s %s, length %d, %v, host %q", b, r.Method, r.Proto, r.ContentLength, r.TransferEncoding, r.Host)
		}
		// What net/http's server checks after its parser (417, 400 "invalid header name").
		if _, expect := r.Header["Expect"]; expect {
			t.Fatalf("WholeUpgrade took %q with an Expect line", b)
		}
		for k := range r.Header {
			if !ascii.IsToken([]byte(k)) {
				t.Fatalf("WholeUpgrade took %q with the field name %q", b, k)
			}
		}
	})
}
