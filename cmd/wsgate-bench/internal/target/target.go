// Package target parses where wsgate-bench sends its load (a WebSocket URL on loopback and the
// management API base that belongs to it) and refuses every address that is not loopback: the
// generator is built to saturate what it talks to.
package target

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
)

// Target is where a run sends its load: the WebSocket URL and the management API base that
// belongs to it (http://HOST/{stage}).
type Target struct {
	WS       string // ws://127.0.0.1:8080/dev[/path][?query]
	HostPort string // 127.0.0.1:8080
	Mgmt     string // http://127.0.0.1:8080/dev
	MgmtHost string // host:port the management requests go to (HostPort unless SetMgmt moved them)
	Path     string // /dev
	// sources are the local addresses connections are spread over (127.0.0.2..127.0.0.250
	// for an IPv4 target, nil for ::1).
	sources []*net.TCPAddr
}

// Parse accepts ws://HOST:PORT/STAGE[...] whose HOST is a loopback address (or localhost),
// or a private address when the generator runs in a network namespace of its own (the
// scale-out script wires nodes, Redis and the generator in namespaces: there a private
// address is that wiring, not a machine on a network). The generator refuses anything else:
// it is built to saturate what it talks to.
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
		if ip := net.ParseIP(host); ip == nil || !ip.IsPrivate() || !InOwnNetns() {
			return nil, fmt.Errorf("--url %q: %w", raw, err)
		}
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	t := &Target{WS: raw, HostPort: net.JoinHostPort(host, port)}
	stage := strings.SplitN(strings.TrimPrefix(u.EscapedPath(), "/"), "/", 2)[0]
	t.Path = "/" + stage
	t.Mgmt = "http://" + t.HostPort + t.Path
	t.MgmtHost = t.HostPort
	if ip := net.ParseIP(host); ip.To4() != nil && ip.IsLoopback() {
		for i := 2; i <= 250; i++ {
			t.sources = append(t.sources, &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i))})
		}
	}
	return t, nil
}

// InOwnNetns reports whether this process runs in a named network namespace, one made by
// `ip netns add` and entered with `ip netns exec` (its namespace is one of /run/netns/*, which
// the root namespace never is); false when that cannot be read.
func InOwnNetns() bool {
	var self syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &self); err != nil {
		return false
	}
	names, _ := filepath.Glob("/run/netns/*")
	for _, n := range names {
		var st syscall.Stat_t
		if syscall.Stat(n, &st) == nil && st.Dev == self.Dev && st.Ino == self.Ino {
			return true
		}
	}
	return false
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

// SetMgmt sends the management requests to another node's http://HOST:PORT/STAGE (a push
// crossing nodes), with the same address rules as Parse.
func (t *Target) SetMgmt(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return fmt.Errorf("--mgmt-url %q: use http://HOST:PORT/STAGE", raw)
	}
	host := u.Hostname()
	if err := CheckLoopback(host); err != nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsPrivate() || !InOwnNetns() {
			return fmt.Errorf("--mgmt-url %q: %w", raw, err)
		}
	}
	t.MgmtHost = u.Host
	t.Mgmt = "http://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/")
	return nil
}
