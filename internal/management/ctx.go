package management

import (
	"context"
	"sync"
	"time"
)

// opContext is the context of one Backend call: its parent's values and cancellation, and a
// deadline (Options.Timeout) whose timer is made only when something waits on Done. A push to
// a connection on this node never waits (it writes to the socket's buffer), so it pays for no
// timer and no cancel tree (context.WithTimeout was four allocations and a timer per push);
// what reaches the store or the bus asks for Done and gets a real context.WithDeadline. Safe
// for concurrent use, like any context.
type opContext struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex
	real     context.Context // made by Done
	cancel   context.CancelFunc
	released bool
}

func newOpContext(parent context.Context, timeout time.Duration) *opContext {
	d := time.Now().Add(timeout)
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	return &opContext{parent: parent, deadline: d}
}

func (c *opContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *opContext) Value(key any) any           { return c.parent.Value(key) }

func (c *opContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real == nil {
		c.real, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.released {
			c.cancel()
		}
	}
	return c.real.Done()
}

func (c *opContext) Err() error {
	c.mu.Lock()
	real, released := c.real, c.released
	c.mu.Unlock()
	switch {
	case real != nil:
		return real.Err()
	case c.parent.Err() != nil:
		return c.parent.Err()
	case !time.Now().Before(c.deadline):
		return context.DeadlineExceeded
	case released:
		return context.Canceled
	}
	return nil
}

// release ends the context, as the cancel of context.WithTimeout does, freeing the timer if
// Done made one.
func (c *opContext) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released = true
	if c.cancel != nil {
		c.cancel()
	}
}
