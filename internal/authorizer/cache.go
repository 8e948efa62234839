package authorizer

import (
	"context"
	"sync"
	"time"
)

// outcome is one decision: a Result or a refusal.
type outcome struct {
	res *Result
	err *Error
}

type cacheEntry struct {
	outcome
	expires time.Time
}

// cache holds decisions per identity key for a TTL, at most max entries. When full, expired
// entries are swept; if none expired, an arbitrary entry is evicted (Go's map order), which
// keeps the cost of a flood of distinct identities bounded without an LRU list on the hit path.
// Safe for concurrent use.
type cache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	max     int
	now     func() time.Time
}

func newCache(max int, now func() time.Time) *cache {
	return &cache{entries: make(map[string]cacheEntry), max: max, now: now}
}

func (c *cache) get(key string) (outcome, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	if ok && !c.now().Before(e.expires) {
		delete(c.entries, key)
		ok = false
	}
	c.mu.Unlock()
	return e.outcome, ok
}

func (c *cache) put(key string, o outcome, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cacheEntry{outcome: o, expires: now.Add(ttl)}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// flight coalesces concurrent identical misses: the first caller runs the decision, the others
// wait for its outcome (or their own ctx). The decision runs on a context that the first caller
// going away does not cancel, so that the waiters still get an answer; its own deadline bounds it.
type flight struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done chan struct{}
	out  outcome
}

// do runs fn once per key at a time. fn gets a context detached from ctx's cancellation.
func (f *flight) do(ctx context.Context, key string, fn func(context.Context) outcome) outcome {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[string]*call)
	}
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.out
		case <-ctx.Done():
			return outcome{err: internal(ctx.Err())}
		}
	}
	c := &call{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()

	c.out = fn(context.WithoutCancel(ctx))
	f.mu.Lock()
	delete(f.calls, key)
	f.mu.Unlock()
	close(c.done)
	return c.out
}
