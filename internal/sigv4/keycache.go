package sigv4

import "sync"

// DefaultKeyCacheSize bounds the signing-key cache. A key lives for one scope date and there
// are few secrets and regions, so a small cache holds every live key; the bound only stops
// a caller with a known access key id from growing it with made-up regions.
const DefaultKeyCacheSize = 256

type keyID struct{ secret, date, region string }

// keyCache holds derived signing keys per (secret, date, region). Safe for concurrent use.
type keyCache struct {
	service string
	max     int

	mu   sync.RWMutex
	keys map[keyID][]byte
}

func newKeyCache(service string, max int) *keyCache {
	return &keyCache{service: service, max: max, keys: make(map[keyID][]byte)}
}

// get returns the signing key, deriving and caching it on a miss. When the cache is full an
// arbitrary entry is dropped; the one that matters again is re-derived on its next use.
func (c *keyCache) get(secret, date, region string) []byte {
	id := keyID{secret, date, region}
	c.mu.RLock()
	k, ok := c.keys[id]
	c.mu.RUnlock()
	if ok {
		return k
	}
	k = deriveKey(secret, date, region, c.service)
	c.mu.Lock()
	if len(c.keys) >= c.max {
		for old := range c.keys {
			delete(c.keys, old)
			break
		}
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k
}
