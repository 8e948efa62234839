// Package testredis runs a real, throwaway redis-server for tests.
//
// Tests that need Redis fail (never skip) when redis-server is missing, so that CI cannot pass
// by silently testing less. Each Server listens on its own free port on 127.0.0.1, keeps no data
// on disk, and is stopped by t.Cleanup. StartCluster and StartSentinel run the other two
// topologies go-redis's UniversalClient serves (a Redis Cluster of masters, a master watched by
// a sentinel) from the same binary, plus redis-cli to form the cluster.
package testredis

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long Start and Restart wait for PING to answer.
const startTimeout = 15 * time.Second

// Server is one redis-server process. Stop and Restart may be called from the test goroutine
// only; Addr and URL are safe anywhere.
type Server struct {
	// Addr is host:port, e.g. "127.0.0.1:41234". It stays the same across Restart.
	Addr string

	t    testing.TB
	bin  string
	port int
	// conf is a config file given before the options (Sentinel needs one it can rewrite);
	// extra are options added after the defaults; sentinel drops the data options that a
	// sentinel has no use for.
	conf     string
	extra    []string
	sentinel bool

	mu   sync.Mutex
	proc *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when proc has exited
}

// Start runs redis-server on a free port and returns once it answers PING. The server is
// stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return startServer(t, &Server{})
}

// serverBin finds redis-server, failing the test with what to install when it is missing.
func serverBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found on PATH: install Debian's redis-server package (apt-get install redis-server); .ci/run does this")
	}
	return bin
}

// startServer starts s (its conf, extra and sentinel set by the caller) on a free port, and
// stops it when the test ends.
func startServer(t testing.TB, s *Server) *Server {
	t.Helper()
	s.t, s.bin = t, serverBin(t)
	t.Cleanup(s.Stop)
	// The free port is found by binding and releasing it, so another process may grab it in
	// between; try a few ports before giving up.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testredis: find a free port: %v", err)
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("testredis: %v", lastErr)
	return nil
}

// URL is the redis:// URL of database 0, for redis.ParseURL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Stop kills the server and waits for it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.Process.Kill() // by its own PID only
	<-s.done
	s.proc = nil
}

// Restart stops the server and starts a fresh one on the same port (all data is lost, as
// nothing is saved), for tests of clients that must survive a Redis outage.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	// The port was just released by the killed process; another process could take it, but on
	// a test machine that is rare enough to report rather than work around.
	if err := s.start(); err != nil {
		s.t.Fatalf("testredis: restart on %s: %v", s.Addr, err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	args = append(args,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--protected-mode", "no",
		"--loglevel", "warning",
	)
	if !s.sentinel {
		args = append(args, "--save", "", "--appendonly", "no")
	}
	args = append(args, s.extra...)
	cmd := exec.Command(s.bin, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited during start: %s", s.port, out.String())
		default:
		}
		if ping(s.Addr) == nil {
			s.proc, s.out, s.done = cmd, out, done
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %s", s.port, startTimeout, out.String())
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not an assertion
	}
}

// ping sends one PING over a fresh connection and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects the server's output for error messages; exec writes it from its own
// goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
