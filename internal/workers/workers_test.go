package workers

import (
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// The second function runs on the goroutine that ran the first, which waited for it; waiting
// workers leave at Stop.
func TestWorkersAreReused(t *testing.T) {
	p := New(4, 100)
	ids := make(chan string, 2)
	for range 2 {
		if !p.Go(func() { ids <- goid() }) {
			t.Fatal("Go refused with no worker alive")
		}
		harness.Eventually(t, "the worker to wait", func() bool { return p.Idle() == 1 })
	}
	if a, b := <-ids, <-ids; a != b {
		t.Fatalf("the second function ran on goroutine %s, not on the waiting worker %s", b, a)
	}
	p.Stop()
	harness.Eventually(t, "the waiting worker to leave at Stop", func() bool { return p.Live() == 0 && p.Idle() == 0 })
}

// At most maxIdle workers wait; Go refuses past maxLive workers alive, and the refused function
// is not run.
func TestBounds(t *testing.T) {
	p := New(2, 5)
	defer p.Stop()
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		if !p.Go(func() { defer wg.Done(); <-release }) {
			t.Fatalf("Go %d refused below maxLive", i)
		}
	}
	ran := false
	if p.Go(func() { ran = true }) {
		t.Fatal("Go accepted a sixth function with five workers busy")
	}
	close(release)
	wg.Wait()
	harness.Eventually(t, "two workers to wait and three to leave", func() bool { return p.Idle() == 2 && p.Live() == 2 })
	if ran || p.Idle() != 2 {
		t.Fatalf("ran the refused function: %v; %d waiting", ran, p.Idle())
	}
}

// BenchmarkHandOff is one function handed to a waiting worker and run, the caller waiting for
// it (a close job or a direct upgrade: the hand-off is what a worker costs over a go statement).
func BenchmarkHandOff(b *testing.B) {
	p := New(4, 100)
	defer p.Stop()
	done := make(chan struct{})
	f := func() { done <- struct{}{} }
	for b.Loop() {
		p.Go(f)
		<-done
	}
}

// BenchmarkGoStatement is BenchmarkHandOff's function on a new goroutine each time, the cost a
// worker replaces (without the stack growth a deeper call adds to it).
func BenchmarkGoStatement(b *testing.B) {
	done := make(chan struct{})
	f := func() { done <- struct{}{} }
	for b.Loop() {
		go f()
		<-done
	}
}
