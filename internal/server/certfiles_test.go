package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate with the given common name and its key.
func writePair(t *testing.T, certFile, keyFile, cn string, mod time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	for f, b := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
}

// A renewed certificate on disk is served without a restart; a half-written renewal is
// logged once and the previous certificate kept.
func TestCertFilesReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	t0 := time.Now().Add(-time.Hour)
	writePair(t, certFile, keyFile, "first", t0)
	var logs bytes.Buffer
	c, err := loadCertFiles(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	c.every = 0 // look at the files on every handshake
	cn := func() string {
		cert, err := c.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return cert.Leaf.Subject.CommonName
	}
	if got := cn(); got != "first" {
		t.Fatalf("serving %q, want first", got)
	}
	writePair(t, certFile, keyFile, "renewed", t0.Add(time.Minute))
	if got := cn(); got != "renewed" {
		t.Fatalf("after renewal serving %q, want renewed", got)
	}
	// The renewal has written the certificate but not yet its key.
	writePair(t, certFile, filepath.Join(dir, "other-key.pem"), "half", t0.Add(2*time.Minute))
	if got := cn(); got != "renewed" {
		t.Fatalf("after a half renewal serving %q, want the previous one", got)
	}
	cn()
	if n := strings.Count(logs.String(), "does not load"); n != 1 {
		t.Errorf("half renewal logged %d times, want once:\n%s", n, logs.String())
	}
	c.every = time.Hour // and with the default pace, no stat at all between checks
	writePair(t, certFile, keyFile, "later", t0.Add(3*time.Minute))
	if got := cn(); got != "renewed" {
		t.Fatalf("within the check interval serving %q, want renewed", got)
	}
}
