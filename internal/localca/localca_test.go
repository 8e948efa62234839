package localca

import (
	"bytes"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, dir string, names Names, now time.Time) *Authority {
	t.Helper()
	a, err := Open(Options{Dir: dir, Names: names, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return a
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The server certificate verifies against ca.pem for every name a client may use, and the
// key files are private.
func TestOpenMakesAVerifiableCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	names := NamesFor("127.0.0.1:8080", "gw.example.test")
	a := open(t, dir, names, time.Now())
	if got := a.Made(); !slices.Equal(got, []string{"ca", "server"}) {
		t.Errorf("Made() = %v, want [ca server]", got)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(read(t, a.CAFile())) {
		t.Fatal("ca.pem holds no certificate")
	}
	leaf := a.Leaf()
	for _, host := range []string{"127.0.0.1", "::1", "localhost", "gw.example.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "10.9.8.7"}); err == nil {
		t.Error("the certificate verifies for an address it was not made for")
	}
	for name, want := range map[string]os.FileMode{CAKeyFile: 0o600, ServerKeyFile: 0o600, CAFile: 0o644, BundleFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode().Perm(), err, want)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	// The bundle is the system's roots (when the machine has them) followed by the CA.
	bundle := read(t, a.BundleFile())
	if !bytes.HasSuffix(bundle, read(t, a.CAFile())) {
		t.Error("ca-bundle.pem does not end with ca.pem")
	}
	if roots, _ := SystemRoots(); len(roots) > 0 && !bytes.HasPrefix(bundle, roots) {
		t.Error("ca-bundle.pem does not start with the system's roots")
	}
}

// Opening again loads what is there; a changed listen address or a near expiry makes a new
// server certificate from the same CA; the CA itself stays.
func TestReopenKeepsTheCA(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	first := open(t, dir, NamesFor("127.0.0.1:8080"), now)
	ca, server := read(t, first.CAFile()), read(t, filepath.Join(dir, ServerFile))

	again := open(t, dir, NamesFor("127.0.0.1:9999"), now) // another port, same names
	if len(again.Made()) != 0 || again.Fingerprint() != first.Fingerprint() {
		t.Fatalf("reopen made %v, fingerprint %s -> %s", again.Made(), first.Fingerprint(), again.Fingerprint())
	}
	if !bytes.Equal(read(t, filepath.Join(dir, ServerFile)), server) {
		t.Fatal("the server certificate was made again for the same names")
	}

	moved := open(t, dir, NamesFor("192.0.2.7:8080"), now)
	if !slices.Equal(moved.Made(), []string{"server"}) {
		t.Fatalf("new listen IP: Made() = %v, want [server]", moved.Made())
	}
	if !slices.ContainsFunc(moved.Leaf().IPAddresses, net.ParseIP("192.0.2.7").Equal) {
		t.Errorf("new server certificate IPs = %v, want 192.0.2.7 among them", moved.Leaf().IPAddresses)
	}

	late := open(t, dir, NamesFor("192.0.2.7:8080"), now.Add(LeafValidity-RenewBefore+time.Hour))
	if !slices.Equal(late.Made(), []string{"server"}) {
		t.Fatalf("near expiry: Made() = %v, want [server]", late.Made())
	}
	if !bytes.Equal(read(t, late.CAFile()), ca) || late.Fingerprint() != first.Fingerprint() {
		t.Fatal("the CA changed")
	}
}

// GetCertificate renews a server certificate that is running out while the gateway runs.
func TestGetCertificateRenews(t *testing.T) {
	now := time.Now()
	a, err := Open(Options{Dir: t.TempDir(), Names: NamesFor("127.0.0.1:0"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := a.GetCertificate(nil)
	if c2, _ := a.GetCertificate(nil); c2 != c1 {
		t.Fatal("a fresh certificate was replaced")
	}
	now = now.Add(LeafValidity - RenewBefore/2)
	c3, err := a.GetCertificate(nil)
	if err != nil || c3 == c1 || !c3.Leaf.NotAfter.After(now.Add(RenewBefore)) {
		t.Fatalf("near expiry: got %v (same=%v), %v", c3.Leaf.NotAfter, c3 == c1, err)
	}
}

// Gateways started at once on a fresh directory end up with one CA.
func TestConcurrentOpenMakesOneCA(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	prints := make([]string, 8)
	for i := range prints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := Open(Options{Dir: dir, Names: NamesFor("127.0.0.1:0")})
			if err != nil {
				t.Error(err)
				return
			}
			prints[i] = a.Fingerprint()
		}()
	}
	wg.Wait()
	for _, p := range prints {
		if p != prints[0] {
			t.Fatalf("fingerprints differ: %v", prints)
		}
	}
}

// A directory holding half a CA, or files that do not belong together, is an error that names
// the file, not a silently new CA.
func TestBrokenStateIsAnError(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, NamesFor("127.0.0.1:0"), time.Now())
	other := t.TempDir()
	open(t, other, NamesFor("127.0.0.1:0"), time.Now())

	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), read(t, filepath.Join(other, CAKeyFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "does not belong") || !strings.Contains(err.Error(), CAFile) {
		t.Fatalf("mismatched key: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, CAFile)); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, CAFile)) {
		t.Fatalf("missing ca.pem: %v", err)
	}
}

func TestNamesFor(t *testing.T) {
	n := NamesFor("[::]:8080", "wsgate.example.test:443", "not a name!")
	if !slices.ContainsFunc(n.IPs, net.IPv6loopback.Equal) || !slices.Contains(n.DNS, "localhost") ||
		!slices.Contains(n.DNS, "wsgate.example.test") || slices.Contains(n.DNS, "not a name!") {
		t.Fatalf("NamesFor = %+v", n)
	}
	if h, err := os.Hostname(); err == nil && validDNSName(strings.ToLower(h)) && !slices.Contains(n.DNS, strings.ToLower(h)) {
		t.Errorf("host name %q missing from %v", h, n.DNS)
	}
	one := NamesFor("10.1.2.3:8080")
	if !slices.ContainsFunc(one.IPs, net.ParseIP("10.1.2.3").Equal) || len(one.IPs) != 3 {
		t.Errorf("NamesFor(10.1.2.3:8080).IPs = %v, want 127.0.0.1, ::1, 10.1.2.3", one.IPs)
	}
}

func TestTrustEnv(t *testing.T) {
	if env := (Trust{}).Env(); env != nil {
		t.Fatalf("zero Trust env = %v", env)
	}
	env := Trust{CAFile: "/s/ca.pem", Bundle: "/s/ca-bundle.pem"}.Env()
	want := []string{"NODE_EXTRA_CA_CERTS=/s/ca.pem", "AWS_CA_BUNDLE=/s/ca-bundle.pem", "SSL_CERT_FILE=/s/ca-bundle.pem", "REQUESTS_CA_BUNDLE=/s/ca-bundle.pem"}
	if !slices.Equal(env, want) {
		t.Fatalf("Env() = %v, want %v", env, want)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("WSGATE_STATE_DIR", "")
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("XDG_STATE_HOME", "/xdg")
	if d, _ := DefaultDir(); d != "/xdg/wsgate" {
		t.Errorf("with XDG_STATE_HOME: %q", d)
	}
	t.Setenv("STATE_DIRECTORY", "/var/lib/wsgate:/var/lib/other")
	if d, _ := DefaultDir(); d != "/var/lib/wsgate" {
		t.Errorf("with STATE_DIRECTORY: %q", d)
	}
	t.Setenv("WSGATE_STATE_DIR", "/mine")
	if d, _ := DefaultDir(); d != "/mine" {
		t.Errorf("with WSGATE_STATE_DIR: %q", d)
	}
	t.Setenv("WSGATE_STATE_DIR", "")
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, _ := DefaultDir(); d != "/home/u/.local/state/wsgate" {
		t.Errorf("default: %q", d)
	}
}
