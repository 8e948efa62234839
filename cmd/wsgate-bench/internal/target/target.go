// Package target parses where wsgate-bench sends its load (a WebSocket URL on loopback and the
// management API base that belongs to it) and refuses every address that is not loopback: the
// generator is built to saturate what it talks to.
package target

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Target is where a run sends its load: the WebSocket URL and the management API base that
// belongs to it (http://HOST/{stage}).
type Target struct {
	WS       string // ws://127.0.0.1:8080/dev[/path][?query]
	HostPort string // 127.0.0.1:8080
	Mgmt     string // http://127.0.0.1:8080/dev
	Path     string // /dev
	// sources are the local addresses connections are spread over (127.0.0.2..127.0.0.250
	// for an IPv4 target, nil for ::1).
	sources []*net.TCPAddr
}

// Parse accepts ws://HOST:PORT/STAGE[...] whose HOST is a loopback address (or
// localhost). The generator refuses anything else: it is built to saturate what it talks to.
func Parse(raw string) (*Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--url %q: %w", raw, err)
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("--url %q: use ws://127.0.0.1:PORT/STAGE (plain ws on loopback; wss is not supported)", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if err := CheckLoopback(host); err != nil {
		return nil, fmt.Errorf("--url %q: %w", raw, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	t := &Target{WS: raw, HostPort: net.JoinHostPort(host, port)}
	stage := strings.SplitN(strings.TrimPrefix(u.EscapedPath(), "/"), "/", 2)[0]
	t.Path = "/" + stage
	t.Mgmt = "http://" + t.HostPort + t.Path
	if ip := net.ParseIP(host); ip.To4() != nil {
		for i := 2; i <= 250; i++ {
			t.sources = append(t.sources, &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i))})
		}
	}
	return t, nil
}

// CheckLoopback refuses any host that is not a loopback IP or "localhost".
func CheckLoopback(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target host %q is not a loopback address: wsgate-bench only loads 127.0.0.0/8 or ::1 (run it on the gateway's machine)", host)
	}
	return nil
}

// SourceAddr is the i-th local address to dial from (nil: let the kernel choose).
func (t *Target) SourceAddr(i uint32) *net.TCPAddr {
	if len(t.sources) == 0 {
		return nil
	}
	return t.sources[i%uint32(len(t.sources))]
}
