// Package workers runs functions on goroutines that stay, waiting for the next function, after
// the one they ran returns. A new goroutine starts with a small stack and the runtime copies it
// to a larger one each time a call goes deeper; a goroutine that already ran such a call keeps
// its grown stack (until a collection finds it mostly unused and halves it). For short,
// frequent work that goes deep (a connection's handshake, its close), waiting goroutines cost
// a channel hand-off where a new one costs its start and two or three stack copies.
package workers

import (
	"sync/atomic"
	"time"
)

// Pool runs functions on waiting workers. The zero value is not usable; see New.
type Pool struct {
	tasks   chan func() // unbuffered: a send succeeds only to a waiting worker
	maxIdle int32
	maxLive int32
	idle    atomic.Int32
	live    atomic.Int32
	stopped atomic.Bool
}

// New returns a Pool that keeps at most maxIdle workers waiting and runs at most maxLive
// functions at once (waiting workers included in neither bound's excess: a worker that
// finds maxIdle others waiting leaves).
func New(maxIdle, maxLive int) *Pool {
	return &Pool{tasks: make(chan func()), maxIdle: int32(maxIdle), maxLive: int32(maxLive)}
}

// Go runs f on a waiting worker, or on a new one when none waits. It returns false, and does
// not run f, when maxLive workers are alive already: the caller then runs f its own way. A
// panic in f is not recovered (as with a go statement).
func (p *Pool) Go(f func()) bool {
	select {
	case p.tasks <- f:
		return true
	default:
	}
	if p.live.Add(1) > p.maxLive {
		p.live.Add(-1)
		return false
	}
	go p.work(f)
	return true
}

// work runs f and then waits for the next function, on one channel (a select with a second,
// stop channel cost twice as much per hand-off): Stop wakes waiting workers with nil.
func (p *Pool) work(f func()) {
	defer p.live.Add(-1)
	for f != nil {
		f()
		if p.idle.Add(1) > p.maxIdle || p.stopped.Load() {
			p.idle.Add(-1)
			return
		}
		f = <-p.tasks
		p.idle.Add(-1)
	}
}

// Idle is the number of workers waiting.
func (p *Pool) Idle() int { return int(p.idle.Load()) }

// Live is the number of workers, waiting or running a function.
func (p *Pool) Live() int { return int(p.live.Load()) }

// Stop makes the waiting workers leave, and the others when their function returns; it returns
// once none waits (or after a second, should one be slow to reach its wait). Go still works
// after Stop (its workers leave when done). Stop may be called more than once.
func (p *Pool) Stop() {
	p.stopped.Store(true)
	// A worker that counted itself idle before stopped was set may not wait yet: the nil is
	// offered again until it takes it.
	for deadline := time.Now().Add(time.Second); p.idle.Load() > 0 && time.Now().Before(deadline); {
		select {
		case p.tasks <- nil:
		case <-time.After(time.Millisecond):
		}
	}
}
