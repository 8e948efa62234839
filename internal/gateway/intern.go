package gateway

import "sync"

// shapes shares the connShape of connections whose handshakes said the same (User-Agent,
// domain, path), so that each connection holds one pointer instead of three strings and its
// own copy of a browser's ~110-byte User-Agent. On a public API most connections come from a
// few kinds of client on one domain and path, so a handful of shapes serve them all.
//
// It holds at most max distinct shapes of at most maxLen bytes of text each; past that, get
// returns a shape of the connection's own (still correct, just not shared), so hostile clients
// sending a new User-Agent each time cannot grow it. Safe for concurrent use.
type shapes struct {
	mu     sync.RWMutex
	m      map[connShape]*connShape
	max    int
	maxLen int
}

func newShapes(max, maxLen int) *shapes {
	return &shapes{m: make(map[connShape]*connShape), max: max, maxLen: maxLen}
}

// get returns a shape equal to k, shared with earlier callers when possible. Only a shape not
// shared yet is allocated (k itself stays on the caller's stack).
func (in *shapes) get(k connShape) *connShape {
	if len(k.userAgent)+len(k.domainName)+len(k.path) > in.maxLen {
		return k.own()
	}
	in.mu.RLock()
	v, ok := in.m[k]
	full := len(in.m) >= in.max
	in.mu.RUnlock()
	if ok {
		return v
	}
	if full {
		return k.own()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[k]; ok {
		return v
	}
	v = k.own()
	if len(in.m) < in.max {
		in.m[k] = v
	}
	return v
}

// own is a copy of k on the heap.
func (k connShape) own() *connShape {
	v := new(connShape)
	*v = k
	return v
}
