package gateway

import "sync"

// interner shares the storage of strings most connections repeat (User-Agent, Host), so that
// each connection holds a string header instead of its own copy: a browser's User-Agent is
// ~110 bytes, a fifth of what wsgate itself keeps per idle connection.
//
// It holds at most max distinct strings of at most maxLen bytes; past that, strings are
// returned as given (still correct, just not shared), so hostile clients sending a new
// User-Agent each time cannot grow it. Safe for concurrent use.
type interner struct {
	mu     sync.RWMutex
	m      map[string]string
	max    int
	maxLen int
}

func newInterner(max, maxLen int) *interner {
	return &interner{m: make(map[string]string), max: max, maxLen: maxLen}
}

// get returns a string equal to s, shared with earlier callers when possible.
func (in *interner) get(s string) string {
	if s == "" || len(s) > in.maxLen {
		return s
	}
	in.mu.RLock()
	v, ok := in.m[s]
	full := len(in.m) >= in.max
	in.mu.RUnlock()
	if ok {
		return v
	}
	if full {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[s]; ok {
		return v
	}
	if len(in.m) < in.max {
		in.m[s] = s
	}
	return s
}
