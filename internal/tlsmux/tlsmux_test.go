package tlsmux

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// serverTLS is a throwaway certificate for 127.0.0.1 and a pool trusting it.
func serverTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlsmux test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func listen(t *testing.T, o Options) (*Listener, *harness.Buffer) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &harness.Buffer{}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := New(inner, o)
	t.Cleanup(func() { l.Close() })
	return l, logs
}

// acceptAll calls Accept in a loop until the Listener is closed, as net/http's Serve does (a
// Listener classifies only while something accepts), closing what it gets.
func acceptAll(l *Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// accepted waits for Accept within 10 s.
func accepted(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return within 10s")
		return nil
	}
}

// Plain text comes out as the *net.TCPConn the kernel accepted (nbio takes only that onto its
// event loop), with the first byte still unread; TLS comes out as a *tls.Conn, handshake done.
func TestAcceptClassifies(t *testing.T) {
	cfg, pool := serverTLS(t)
	l, _ := listen(t, Options{TLS: cfg})

	plain, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	io.WriteString(plain, "GET / HTTP/1.1\r\n")
	c := accepted(t, l)
	if _, ok := c.(*net.TCPConn); !ok {
		t.Fatalf("plain text accepted as %T, want *net.TCPConn", c)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "GET / HTTP/1.1\r\n" {
		t.Fatalf("plain conn reads %q, %v; want the whole request line, first byte included", line, err)
	}

	done := make(chan error, 1)
	go func() {
		tc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool})
		if err == nil {
			_, err = io.WriteString(tc, "secret")
			defer tc.Close()
		}
		done <- err
	}()
	c = accepted(t, l)
	tc, ok := c.(*tls.Conn)
	if !ok {
		t.Fatalf("TLS accepted as %T, want *tls.Conn", c)
	}
	if !tc.ConnectionState().HandshakeComplete {
		t.Fatal("TLS conn handed on before its handshake")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(tc, buf); err != nil || string(buf) != "secret" {
		t.Fatalf("TLS conn reads %q, %v", buf, err)
	}
}

// A plain-text connection whose first byte is in when it is accepted comes back from Accept
// itself, without a goroutine of its own; one whose first byte comes later is classified on its
// own goroutine and wakes the Accept blocked on the inner listener.
func TestAcceptTakesPlainTextWithoutAGoroutine(t *testing.T) {
	cfg, _ := serverTLS(t)
	l, _ := listen(t, Options{TLS: cfg})
	for i := range 3 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// On loopback the bytes are in the server's socket when Write returns.
		io.WriteString(c, "GET / HTTP/1.1\r\n")
		if _, ok := accepted(t, l).(*net.TCPConn); !ok {
			t.Fatalf("connection %d: not a *net.TCPConn", i)
		}
	}
	if n := l.slow.Load(); n != 0 {
		t.Fatalf("%d of 3 connections whose first byte was in went through a goroutine", n)
	}

	late, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			got <- c
		}
	}()
	harness.Eventually(t, "the connection without a first byte to be pending", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.pending) == 1
	})
	io.WriteString(late, "GET /late HTTP/1.1\r\n")
	select {
	case c := <-got:
		defer c.Close()
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "GET /late HTTP/1.1\r\n" {
			t.Fatalf("late conn reads %q, %v", line, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return the connection classified on its own goroutine within 10s")
	}
}

// TestAcceptAllocs pins what Accept allocates for a plain-text connection whose first byte is
// in: the inner listener's *net.TCPConn with its descriptor and addresses, and the raw conn of
// the peek; nothing of tlsmux's own (no goroutine, no queue entry, no formatted address).
func TestAcceptAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	const ceiling = 6 // go1.26, all of them net's accept and the peek's SyscallConn
	l, _ := listen(t, Options{})
	const runs = 50
	clients := make([]net.Conn, 0, runs+1)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range runs + 1 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "G")
		clients = append(clients, c)
	}
	var accepted []net.Conn
	defer func() {
		for _, c := range accepted {
			c.Close()
		}
	}()
	accepted = make([]net.Conn, 0, runs+1)
	n := testing.AllocsPerRun(runs, func() {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, c)
	})
	if l.slow.Load() != 0 {
		t.Fatalf("%d connections went through a goroutine", l.slow.Load())
	}
	if n > ceiling {
		t.Errorf("Accept allocates %v times per connection, want <= %d", n, ceiling)
	}
	t.Logf("%v allocations per accepted connection", n)
}

// A client that sends nothing does not hold up the others, and is closed at its deadline.
func TestSilentClientTimesOut(t *testing.T) {
	cfg, pool := serverTLS(t)
	l, logs := listen(t, Options{TLS: cfg, Timeout: 300 * time.Millisecond})
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		if tc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool}); err == nil {
			defer tc.Close()
			io.WriteString(tc, "x")
			io.Copy(io.Discard, tc)
		}
	}()
	if _, ok := accepted(t, l).(*tls.Conn); !ok {
		t.Fatal("the TLS client behind a silent one was not accepted")
	}
	_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("silent client read %v, want EOF (closed by the deadline)", err)
	}
	harness.Eventually(t, `the "sent nothing" log line`, func() bool { return strings.Contains(logs.String(), "sent nothing") })
}

// A TLS client on a plain-only port gets a handshake_failure alert and a log line.
func TestRefuseTLSWhenPlainOnly(t *testing.T) {
	l, logs := listen(t, Options{})
	acceptAll(l)
	_, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Fatalf("TLS dial: %v, want a handshake failure alert", err)
	}
	harness.Eventually(t, `the "refused a TLS" log line`, func() bool { return strings.Contains(logs.String(), "refused a TLS") })
	if !strings.Contains(logs.String(), "remote=127.0.0.1:") {
		t.Errorf("log does not say from where:\n%s", logs)
	}
}

// A plain-text request on a TLS-only port is answered 400 as net/http's TLS server does.
func TestRefusePlainWhenTLSRequired(t *testing.T) {
	cfg, _ := serverTLS(t)
	l, logs := listen(t, Options{TLS: cfg, RequireTLS: true})
	acceptAll(l)
	resp, err := http.Get("http://" + l.Addr().String() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "HTTP request to an HTTPS server") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	harness.Eventually(t, "the request log line", func() bool { return strings.Contains(logs.String(), `request="GET /x HTTP/1.1"`) })
}

// A client that rejects the certificate gets the CA file named in the log.
func TestUntrustedCertificateNamesCAFile(t *testing.T) {
	cfg, _ := serverTLS(t)
	l, logs := listen(t, Options{TLS: cfg, CAFile: "/state/ca.pem"})
	acceptAll(l)
	if _, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{}); err == nil {
		t.Fatal("an untrusting client completed the handshake")
	}
	harness.Eventually(t, "the log line naming the CA file", func() bool {
		s := logs.String()
		return strings.Contains(s, "rejected wsgate's certificate") && strings.Contains(s, "caFile=/state/ca.pem")
	})
}

// Close closes connections still being classified and stops Accept.
func TestCloseStopsEverything(t *testing.T) {
	cfg, _ := serverTLS(t)
	l, _ := listen(t, Options{TLS: cfg})
	acceptAll(l)
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	harness.Eventually(t, "the silent connection to be pending", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.pending) == 1
	})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
	_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("pending conn after Close: %v, want EOF", err)
	}
}

// Connections that are not sockets (a wrapper from another listener) are read, not peeked,
// and handed on with the byte given back.
func TestWrappedConnsAreReadNotPeeked(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.WriteString(a, "hello")
	first, c, err := peekFirst(b)
	if err != nil || first != 'h' {
		t.Fatalf("peekFirst = %q, %v", first, err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read after peek = %q, %v", buf, err)
	}
}

// Options.Direct is shown a plain-text connection's first bytes as they are in at Accept,
// unread: what it takes Accept does not return, what it declines Accept returns with those
// bytes still to read. TLS connections are never shown to it.
func TestDirectIsOfferedFirstBytes(t *testing.T) {
	cfg, pool := serverTLS(t)
	offered := make(chan string, 4)
	taken := make(chan net.Conn, 4)
	l, _ := listen(t, Options{TLS: cfg, Direct: func(c *net.TCPConn, first []byte) bool {
		offered <- string(first)
		if strings.HasPrefix(string(first), "GET /take") {
			taken <- c
			return true
		}
		return false
	}})
	for _, req := range []string{"GET /take HTTP/1.1\r\n", "GET /leave HTTP/1.1\r\n"} {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, req) // on loopback the bytes are in the server's socket when Write returns
	}
	got := accepted(t, l) // the first connection was taken: Accept went on to the second
	if first := <-offered; first != "GET /take HTTP/1.1\r\n" {
		t.Fatalf("Direct was shown %q first", first)
	}
	if first := <-offered; first != "GET /leave HTTP/1.1\r\n" {
		t.Fatalf("Direct was shown %q second", first)
	}
	line, err := bufio.NewReader(got).ReadString('\n')
	if err != nil || line != "GET /leave HTTP/1.1\r\n" {
		t.Fatalf("the declined connection reads %q, %v", line, err)
	}
	tc := <-taken
	defer tc.Close()
	line, err = bufio.NewReader(tc).ReadString('\n')
	if err != nil || line != "GET /take HTTP/1.1\r\n" {
		t.Fatalf("the taken connection reads %q, %v", line, err)
	}

	dialed := make(chan error, 1)
	go func() {
		tlsc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool})
		if err == nil {
			defer tlsc.Close()
		}
		dialed <- err
	}()
	if _, ok := accepted(t, l).(*tls.Conn); !ok {
		t.Fatal("a TLS connection did not come out of Accept as *tls.Conn")
	}
	select {
	case first := <-offered:
		t.Fatalf("Direct was shown a TLS connection's bytes %q", first)
	default:
	}
	if err := <-dialed; err != nil {
		t.Fatal(err)
	}
}
