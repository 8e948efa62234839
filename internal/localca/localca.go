// Package localca is wsgate's local certificate authority. With no certificate configured,
// the gateway serves https:// and wss:// with a server certificate this CA issues for its
// listen address, so that a handler's callback to https://{requestContext.domainName}/{stage}
// (the endpoint AWS's tutorials build for the ApiGatewayManagementApi client) and wss://
// clients work once they trust one file, the CA certificate.
//
// Everything is kept in a state directory, so clients that trust the CA keep trusting it across
// restarts:
//
//	ca.pem          the CA certificate (public: wscat --ca, NODE_EXTRA_CA_CERTS, a browser import)
//	ca-key.pem      its private key (0600)
//	ca-bundle.pem   the system's trusted roots followed by ca.pem, for the variables that
//	                replace a client's roots instead of adding to them (SSL_CERT_FILE,
//	                AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE): a function can still reach the internet
//	server.pem      the server certificate followed by ca.pem
//	server-key.pem  its private key (0600)
//
// Keys are ECDSA P-256. The CA is valid for ten years. The server certificate is valid for
// [LeafValidity] and is made again (by the same CA) when it does not name every address the
// gateway answers on, when less than [RenewBefore] of it is left, or when it was not issued by
// the CA in the directory. A lock file serialises processes sharing a directory, so two
// gateways started at once do not make two CAs.
package localca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// File names inside the state directory.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	BundleFile    = "ca-bundle.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
	lockFile      = ".lock"
)

// Validity periods. LeafValidity stays under the 398 days browsers accept for a server
// certificate; RenewBefore is how close to expiry a server certificate is made again.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	LeafValidity = 397 * 24 * time.Hour
	RenewBefore  = 30 * 24 * time.Hour
)

// Names are the host names and addresses a server certificate must carry.
type Names struct {
	IPs []net.IP
	DNS []string
}

// NamesFor returns the names a client can reach a gateway listening on listen ("host:port")
// by: always 127.0.0.1, ::1, localhost and this machine's host name; the listen IP, or every
// interface address when it listens on all of them (":8080", "0.0.0.0:8080", "[::]:8080");
// the listen host when it is a name; and extra (domainName, when configured), each an IP or a
// DNS name.
func NamesFor(listen string, extra ...string) Names {
	var n Names
	n.addIP(net.IPv4(127, 0, 0, 1))
	n.addIP(net.IPv6loopback)
	n.addDNS("localhost")
	if h, err := os.Hostname(); err == nil {
		n.addDNS(h)
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if in, ok := a.(*net.IPNet); ok && !in.IP.IsLinkLocalUnicast() {
				n.addIP(in.IP)
			}
		}
	default:
		n.add(host)
	}
	for _, e := range extra {
		if h, _, err := net.SplitHostPort(e); err == nil {
			e = h
		}
		n.add(e)
	}
	return n
}

func (n *Names) add(host string) {
	if host == "" {
		return
	}
	if ip := net.ParseIP(host); ip != nil {
		n.addIP(ip)
	} else {
		n.addDNS(host)
	}
}

func (n *Names) addIP(ip net.IP) {
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	if !slices.ContainsFunc(n.IPs, ip.Equal) {
		n.IPs = append(n.IPs, ip)
	}
}

func (n *Names) addDNS(name string) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if !validDNSName(name) || slices.Contains(n.DNS, name) {
		return
	}
	n.DNS = append(n.DNS, name)
}

// validDNSName accepts what a certificate's DNS SAN may hold: letters, digits, - and dots.
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// covers reports whether cert names every name in n.
func (n Names) coveredBy(cert *x509.Certificate) bool {
	for _, ip := range n.IPs {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	for _, d := range n.DNS {
		if !slices.Contains(cert.DNSNames, d) {
			return false
		}
	}
	return true
}

// Authority is a loaded local CA and the server certificate it issued. Its methods are safe
// for concurrent use.
type Authority struct {
	dir   string
	names Names
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	now   func() time.Time

	mu   sync.Mutex
	leaf *tls.Certificate
	// Made lists what Open created, for the start-up log: "ca", "server".
	made []string
}

// Options configure Open.
type Options struct {
	// Dir is the state directory; it is created (0700) if missing.
	Dir string
	// Names the server certificate must carry (see NamesFor).
	Names Names
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Open loads the CA and server certificate from o.Dir, making whichever is missing or no
// longer fits, and writes ca-bundle.pem. Errors name the file and what to do.
func Open(o Options) (*Authority, error) {
	if o.Dir == "" {
		return nil, errors.New("localca: no state directory")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	unlock, err := lock(filepath.Join(o.Dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("lock state directory %s: %w", o.Dir, err)
	}
	defer unlock()
	a := &Authority{dir: o.Dir, names: o.Names, now: o.Now}
	if err := a.loadOrMakeCA(); err != nil {
		return nil, err
	}
	if err := a.loadOrMakeLeaf(); err != nil {
		return nil, err
	}
	if err := WriteBundle(filepath.Join(o.Dir, BundleFile), pemCert(a.ca.Raw)); err != nil {
		return nil, err
	}
	return a, nil
}

// CAFile is the path of the CA certificate (PEM).
func (a *Authority) CAFile() string { return filepath.Join(a.dir, CAFile) }

// BundleFile is the path of the system roots followed by the CA certificate (PEM).
func (a *Authority) BundleFile() string { return filepath.Join(a.dir, BundleFile) }

// Fingerprint is the SHA-256 of the CA certificate's DER, in hex, as browsers show it.
func (a *Authority) Fingerprint() string { return Fingerprint(a.ca) }

// Fingerprint is the SHA-256 of cert's DER in hex.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Made lists what Open created rather than loaded: "ca" and/or "server".
func (a *Authority) Made() []string { return slices.Clone(a.made) }

// Trust names the files clients verify this authority's certificates with.
func (a *Authority) Trust() Trust { return Trust{CAFile: a.CAFile(), Bundle: a.BundleFile()} }

// Leaf is the current server certificate.
func (a *Authority) Leaf() *x509.Certificate {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.leaf.Leaf
}

// GetCertificate is a tls.Config.GetCertificate: the current server certificate, made again
// in memory and on disk when less than RenewBefore of it is left (a gateway that runs for a
// year keeps a valid certificate without a restart).
func (a *Authority) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.now().Add(RenewBefore).Before(a.leaf.Leaf.NotAfter) {
		return a.leaf, nil
	}
	unlock, err := lock(a.path(lockFile))
	if err != nil {
		return a.leaf, nil // keep serving the old one; the next handshake tries again
	}
	defer unlock()
	leaf, err := a.issue()
	if err != nil {
		return a.leaf, nil
	}
	a.leaf = leaf
	return leaf, nil
}

// TLSConfig is a server configuration serving the authority's certificate.
func (a *Authority) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: a.GetCertificate, MinVersion: tls.VersionTLS12}
}

func (a *Authority) path(name string) string { return filepath.Join(a.dir, name) }

func (a *Authority) loadOrMakeCA() error {
	certPEM, certErr := os.ReadFile(a.path(CAFile))
	keyPEM, keyErr := os.ReadFile(a.path(CAKeyFile))
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return a.makeCA()
	case certErr != nil:
		return fmt.Errorf("%s: %w (it goes with %s; delete both to make a new CA, then give clients the new %s)", a.path(CAFile), certErr, CAKeyFile, CAFile)
	case keyErr != nil:
		return fmt.Errorf("%s: %w (it goes with %s; delete both to make a new CA, then give clients the new %s)", a.path(CAKeyFile), keyErr, CAFile, CAFile)
	}
	cert, key, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("%s, %s: %w; delete both to make a new CA, then give clients the new %s", a.path(CAFile), a.path(CAKeyFile), err, CAFile)
	}
	if !cert.IsCA {
		return fmt.Errorf("%s is not a CA certificate; delete it and %s to make a new CA", a.path(CAFile), CAKeyFile)
	}
	if !a.now().Add(LeafValidity).Before(cert.NotAfter) {
		// It could not sign a full-length server certificate: make a new CA. Clients must
		// trust the new file; Made says so and the server logs it.
		return a.makeCA()
	}
	a.ca, a.caKey = cert, key
	return nil
}

func (a *Authority) makeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	now := a.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject: pkix.Name{
			Organization: []string{"wsgate local CA"},
			CommonName:   strings.TrimSpace("wsgate local CA " + host),
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	keyPEM, err := pemKey(key)
	if err != nil {
		return err
	}
	// The key first: a crash between the two writes leaves a key without a certificate,
	// which the next start reports instead of silently pairing files from two CAs.
	if err := writeFile(a.path(CAKeyFile), keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFile(a.path(CAFile), pemCert(der), 0o644); err != nil {
		return err
	}
	a.ca, a.caKey = cert, key
	a.made = append(a.made, "ca")
	// A new CA invalidates any server certificate the old one issued.
	_ = os.Remove(a.path(ServerFile))
	return nil
}

func (a *Authority) loadOrMakeLeaf() error {
	pair, err := tls.LoadX509KeyPair(a.path(ServerFile), a.path(ServerKeyFile))
	if err == nil && a.fits(pair.Leaf) {
		a.leaf = &pair
		return nil
	}
	leaf, err := a.issue()
	if err != nil {
		return err
	}
	a.leaf = leaf
	a.made = append(a.made, "server")
	return nil
}

// fits reports whether leaf can be served: issued by this CA, naming every wanted name, and
// not close to expiry.
func (a *Authority) fits(leaf *x509.Certificate) bool {
	if leaf == nil || leaf.CheckSignatureFrom(a.ca) != nil {
		return false
	}
	now := a.now()
	return a.names.coveredBy(leaf) && now.After(leaf.NotBefore) && now.Add(RenewBefore).Before(leaf.NotAfter)
}

// issue makes a server certificate for a.names and writes it. Callers hold a.mu or run
// before the Authority is shared.
func (a *Authority) issue() (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := a.now()
	cn := "localhost"
	if len(a.names.DNS) > 0 {
		cn = a.names.DNS[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"wsgate"}, CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(LeafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  a.names.IPs,
		DNSNames:     a.names.DNS,
	}
	if tmpl.NotAfter.After(a.ca.NotAfter) {
		tmpl.NotAfter = a.ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.ca, &key.PublicKey, a.caKey)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pemKey(key)
	if err != nil {
		return nil, err
	}
	chain := append(pemCert(der), pemCert(a.ca.Raw)...)
	if err := writeFile(a.path(ServerKeyFile), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(a.path(ServerFile), chain, 0o644); err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(chain, keyPEM)
	if err != nil {
		return nil, err
	}
	return &pair, nil
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("no PEM private key block")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("the CA key is a %T, want ECDSA", k)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("the key does not belong to the certificate")
	}
	return cert, key, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeFile replaces path atomically (a temporary file in the same directory, then rename),
// so a reader never sees half a key, with the given mode whatever the umask.
func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return nil
}

// Trust names the files a client verifies wsgate's certificate with. The zero Trust means
// "the system's roots are enough" (a publicly trusted certificate, or TLS off).
type Trust struct {
	// CAFile holds only the certificate(s) of the CA that issued wsgate's certificate: for
	// clients that add it to their roots (NODE_EXTRA_CA_CERTS, wscat --ca, a browser import).
	CAFile string
	// Bundle holds the system's roots followed by CAFile: for clients whose variable replaces
	// their roots (SSL_CERT_FILE, AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE), so that they can still
	// reach other https:// hosts.
	Bundle string
}

// Env returns the environment variables that make the HTTPS clients of Node (NODE_EXTRA_CA_CERTS),
// the AWS SDKs and CLI (AWS_CA_BUNDLE), OpenSSL and Python's ssl (SSL_CERT_FILE) and Python
// requests (REQUESTS_CA_BUNDLE) trust wsgate's certificate, as NAME=value. Empty for the zero
// Trust.
func (t Trust) Env() []string {
	if t.CAFile == "" || t.Bundle == "" {
		return nil
	}
	return []string{
		"NODE_EXTRA_CA_CERTS=" + t.CAFile,
		"AWS_CA_BUNDLE=" + t.Bundle,
		"SSL_CERT_FILE=" + t.Bundle,
		"REQUESTS_CA_BUNDLE=" + t.Bundle,
	}
}

// systemRootFiles are where Linux distributions, the BSDs and macOS keep their PEM bundle of
// trusted roots (the list crypto/x509 searches).
var systemRootFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, Arch
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine, macOS, the BSDs
	"/usr/local/etc/ssl/cert.pem",                       // FreeBSD
}

// SystemRoots returns the PEM of the system's trusted roots ($SSL_CERT_FILE if wsgate itself
// has it, else the first bundle found) and its path; nil when none is found.
func SystemRoots() ([]byte, string) {
	files := systemRootFiles
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = append([]string{f}, files...)
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return b, f
		}
	}
	return nil, ""
}

// WriteBundle writes the system's roots followed by caPEM to path (0644), unless path already
// holds exactly that.
func WriteBundle(path string, caPEM []byte) error {
	roots, _ := SystemRoots()
	var b bytes.Buffer
	if len(roots) > 0 {
		b.Write(roots)
		if roots[len(roots)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	b.Write(caPEM)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b.Bytes()) {
		return nil
	}
	if err := writeFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// DefaultDir is the state directory when none is configured: $WSGATE_STATE_DIR, systemd's
// $STATE_DIRECTORY (a unit with StateDirectory=wsgate), $XDG_STATE_HOME/wsgate, or
// ~/.local/state/wsgate (the XDG Base Directory default).
func DefaultDir() (string, error) {
	if d := os.Getenv("WSGATE_STATE_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		// systemd may list several, separated by colons; wsgate's is the first.
		return strings.Split(d, ":")[0], nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "wsgate"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %w; set state.dir, --state-dir or WSGATE_STATE_DIR", err)
	}
	return filepath.Join(home, ".local", "state", "wsgate"), nil
}
