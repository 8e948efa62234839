package bus

import (
	"bytes"
	"context"
	"fmt"
	"sync"
)

// DefaultLocalQueue is how many messages a Local subscription buffers before Publish waits.
const DefaultLocalQueue = 1024

// Local is the in-process Bus for a single node (the default). Publish hands a message to the
// subscription's queue; one goroutine per subscription runs the handler, so order per
// publisher is the queue's order. A full queue makes Publish wait until ctx is done: back
// pressure rather than unbounded memory.
type Local struct {
	mu     sync.Mutex
	subs   map[string]*localSub
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

type localSub struct {
	ch chan Message
}

// NewLocal returns an in-process Bus.
func NewLocal() Bus {
	return &Local{subs: map[string]*localSub{}, done: make(chan struct{})}
}

// Publish queues m for node's handler; ErrNoSubscriber if node has not subscribed in this
// process.
func (l *Local) Publish(ctx context.Context, node string, m Message) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	s := l.subs[node]
	l.mu.Unlock()
	if s == nil {
		return fmt.Errorf("publish to node %q: %w", node, ErrNoSubscriber)
	}
	m.Data = bytes.Clone(m.Data) // queued past the return: see Bus.Publish
	select {
	case s.ch <- m:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("publish to node %q: queue full: %w", node, ctx.Err())
	case <-l.done:
		return ErrClosed
	}
}

// Subscribe starts node's handler goroutine.
func (l *Local) Subscribe(ctx context.Context, node string, h func(Message)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.subs[node] != nil {
		return fmt.Errorf("bus: node %q is already subscribed on this bus", node)
	}
	s := &localSub{ch: make(chan Message, DefaultLocalQueue)}
	l.subs[node] = s
	l.wg.Go(func() {
		for {
			select {
			case m := <-s.ch:
				h(m)
			case <-l.done:
				return
			}
		}
	})
	return nil
}

// Close stops every subscription (messages still queued are dropped) and waits for the
// handlers to return. Calling it again does nothing.
func (l *Local) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
	l.mu.Unlock()
	l.wg.Wait()
	return nil
}
