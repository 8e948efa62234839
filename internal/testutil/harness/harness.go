// Package harness holds what wsgate's tests share, end-to-end suites (internal/server,
// test/cluster) first: a poller with a deadline (Eventually), a buffer safe for concurrent use
// (Buffer), a fake Lambda that records the events it is sent (Lambda), a wsgate process
// (StartProcess), and the cross-node delivery contract every topology must pass
// (RunDeliveryContract: memory, one Redis node, Cluster, Sentinel, three processes). A node in
// the test process is started by internal/server/servertest.
//
// It imports no wsgate package, so any package's tests, internal ones included, may use it.
// Everything it starts is real (wsgate itself, sockets, SigV4 signing by the AWS SDK) except
// the Lambda, which cannot run here; see Lambda.
package harness

import (
	"testing"
	"time"
)

// Deadline bounds Eventually: long enough for a slow, loaded CI machine (a Redis failover, a
// node reaped after its 2 s lease), short enough that a hang fails the test, not the run.
const Deadline = 20 * time.Second

// pollEvery is how often Eventually checks: most conditions hold within milliseconds, and the
// check must be cheap.
const pollEvery = 5 * time.Millisecond

// Eventually polls cond until it holds, failing t with "timed out after 20s waiting for <what>"
// after Deadline (nats-server's checkFor). It is the one way wsgate's tests wait for what
// another goroutine or process does: no bare sleeps, no poll without a deadline.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, Deadline, what, cond)
}

// EventuallyWithin is Eventually with another deadline.
func EventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(pollEvery)
	}
}
