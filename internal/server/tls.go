package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/localca"
	"github.com/wsgate/wsgate/internal/observe"
)

// setupTLS prepares what the listener serves TLS with (s.tlsConfig; nil with tls.mode off) and
// what clients trust it with (s.trust): the local CA by default, the configured certificate
// otherwise. It runs in New, so functions can be given the trust files before anything starts.
func (s *Server) setupTLS() error {
	t := s.cfg.TLS
	if t == nil {
		t = &config.TLS{}
	}
	switch {
	case t.Mode == config.TLSOff:
		return nil
	case t.CertFile != "":
		files, err := loadCertFiles(t.CertFile, t.KeyFile, s.log)
		if err != nil {
			return s.keyErr("tls.certFile", err)
		}
		s.tlsConfig = &tls.Config{GetCertificate: files.GetCertificate, MinVersion: tls.VersionTLS12}
		if t.CAFile != "" {
			ca, err := os.ReadFile(t.CAFile)
			if err != nil {
				return s.keyErr("tls.caFile", err)
			}
			dir, err := s.stateDir()
			if err != nil {
				return err
			}
			bundle := filepath.Join(dir, localca.BundleFile)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return s.keyErr("state.dir", err)
			}
			if err := localca.WriteBundle(bundle, ca); err != nil {
				return s.keyErr("state.dir", err)
			}
			s.trust = localca.Trust{CAFile: t.CAFile, Bundle: bundle}
		}
	default:
		names := localca.NamesFor(s.cfg.Listen, s.cfg.DomainName)
		dir, err := s.stateDir()
		var ca *localca.Authority
		if err == nil {
			ca, err = localca.Open(localca.Options{Dir: dir, Names: names})
		}
		if err != nil && s.cfg.State.Dir == "" && os.Getenv("WSGATE_STATE_DIR") == "" {
			// No default directory (no home), or not a writable one (a container with a
			// read-only home): serve anyway, with a CA that lasts as long as this process.
			tmp, terr := os.MkdirTemp("", "wsgate-state-")
			if terr != nil {
				return fmt.Errorf("local CA in %s: %w", dir, err)
			}
			s.log.Warn("state directory unusable; the local CA is kept in a temporary directory and changes at every restart: set state.dir (or --state-dir, WSGATE_STATE_DIR) to a writable directory",
				"stateDir", dir, observe.KeyError, err, "tmp", tmp)
			ca, err = localca.Open(localca.Options{Dir: tmp, Names: names})
		}
		if err != nil {
			return fmt.Errorf("local CA: %w; set state.dir to a writable directory, give tls.certFile/keyFile, or set tls.mode: off", err)
		}
		s.tlsConfig = ca.TLSConfig()
		s.trust = ca.Trust()
		if made := ca.Made(); len(made) > 0 {
			// A new CA is news to clients that trusted an earlier one in this directory.
			s.log.Info("local CA: made a new "+strings.Join(made, " and a new ")+" certificate",
				"dir", filepath.Dir(ca.CAFile()), "caSHA256", ca.Fingerprint())
		}
	}
	if s.tlsConfig != nil {
		// As ServeTLS offers: HTTP/2 for management calls, HTTP/1.1 for WebSocket upgrades.
		s.tlsConfig.NextProtos = []string{"h2", "http/1.1"}
	}
	return nil
}

// stateDir is state.dir, or the default (see localca.DefaultDir).
func (s *Server) stateDir() (string, error) {
	if d := s.cfg.State.Dir; d != "" {
		return d, nil
	}
	return localca.DefaultDir()
}

// Trust names the files clients verify this node's https:// and wss:// certificate with: the
// local CA's (the default), tls.caFile's, or none (tls.mode off, or a certificate the system
// already trusts). Functions get Trust().Env() in their environment. Valid after New.
func (s *Server) Trust() localca.Trust { return s.trust }

// CABundle is the path of a PEM file holding the system's roots followed by the CA of this
// node's certificate (for SSL_CERT_FILE, AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE); "" when clients
// need none. Valid after New.
func (s *Server) CABundle() string { return s.trust.Bundle }

// certCheckInterval is how often certFiles looks at the files' modification times.
const certCheckInterval = 10 * time.Second

// certFiles serves tls.certFile and tls.keyFile, and loads them again when either changes on
// disk (a certbot or cert-manager renewal), so a long-running gateway picks up a renewed
// certificate without a restart. The files are looked at no more than once per
// certCheckInterval, on a handshake. A pair that does not load (the renewal wrote one file and
// not yet the other) is logged and the previous certificate kept. Safe for concurrent use.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger
	every             time.Duration

	mu       sync.Mutex
	cert     *tls.Certificate
	modified [2]time.Time // of certFile, keyFile when cert was loaded
	checked  time.Time
	failed   [2]time.Time // the modification times that last failed to load (logged once)
}

func loadCertFiles(certFile, keyFile string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, log: log, every: certCheckInterval}
	mod := c.modTimes()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load %s and %s: %w", certFile, keyFile, err)
	}
	c.cert, c.modified, c.checked = &pair, mod, time.Now()
	return c, nil
}

func (c *certFiles) modTimes() [2]time.Time {
	var m [2]time.Time
	for i, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			m[i] = fi.ModTime()
		}
	}
	return m
}

// GetCertificate is a tls.Config.GetCertificate.
func (c *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.checked) < c.every {
		return c.cert, nil
	}
	c.checked = now
	mod := c.modTimes()
	if mod == c.modified || mod == c.failed {
		return c.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		c.failed = mod
		c.log.Warn("tls.certFile changed but does not load; serving the previous certificate", "certFile", c.certFile, "keyFile", c.keyFile, observe.KeyError, err)
		return c.cert, nil
	}
	c.cert, c.modified = &pair, mod
	c.log.Info("tls.certFile reloaded", "certFile", c.certFile, "notAfter", pair.Leaf.NotAfter)
	return c.cert, nil
}
