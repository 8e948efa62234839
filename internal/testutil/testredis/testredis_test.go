package testredis

import (
	"testing"
)

func TestStartPingStop(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr); err != nil {
		t.Fatalf("ping after Start: %v", err)
	}
	if want := "redis://" + s.Addr + "/0"; s.URL() != want {
		t.Fatalf("URL() = %q, want %q", s.URL(), want)
	}
	s.Stop()
	if err := ping(s.Addr); err == nil {
		t.Fatal("ping after Stop answered; the server still runs")
	}
	s.Stop() // idempotent
}

func TestRestartKeepsPort(t *testing.T) {
	s := Start(t)
	addr := s.Addr
	s.Restart()
	if s.Addr != addr {
		t.Fatalf("Addr after Restart = %q, want %q", s.Addr, addr)
	}
	if err := ping(s.Addr); err != nil {
		t.Fatalf("ping after Restart: %v", err)
	}
}

// fatalRecorder records Fatal instead of stopping the goroutine, to test the missing-binary path.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = args[0].(string)
	panic(f)
}

func TestMissingBinaryFails(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != rec {
				panic(r)
			}
		}()
		Start(rec)
	}()
	if rec.msg == "" {
		t.Fatal("Start with no redis-server on PATH did not fail")
	}
	const want = "redis-server not found on PATH: install Debian's redis-server package (apt-get install redis-server); .ci/run does this"
	if rec.msg != want {
		t.Fatalf("message = %q, want %q", rec.msg, want)
	}
}
