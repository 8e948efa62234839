package keepalive

import (
	"bufio"
	"bytes"
	"net/textproto"
	"testing"
)

// hostsOf sees the Host lines net/http's server sees: as many, and the (one) value's
// validity as its parser reads it (textproto, after the request line).
func FuzzHostsOf(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\nhost:a b\nHOST: c\n\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nX: y\r\n\r\nHost: body\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost:\t[::1]:80 \r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))
		if _, err := tp.ReadLine(); err != nil {
			return
		}
		hdr, err := tp.ReadMIMEHeader()
		if err != nil {
			return // net/http refuses the head before it looks at Host
		}
		got := hostsOf(b)
		hosts := hdr["Host"]
		if got.n != len(hosts) || (len(hosts) == 1 && got.valid != validHost(hosts[0])) {
			t.Fatalf("hostsOf(%q) = %+v; net/http sees %q", b, got, hosts)
		}
	})
}
