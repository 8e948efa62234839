package hub

import (
	"fmt"
	"testing"
	"unsafe"
)

// The owners cache answers what was put, forgets on request, and never holds more than
// ownerShards*ownerShardMax connections however many it is given.
func TestOwnersBounded(t *testing.T) {
	o := newOwners()
	const max = ownerShards * ownerShardMax
	for i := range 3 * max {
		id := fmt.Sprintf("conn-%d", i)
		o.put(id, fmt.Sprintf("node-%d", i%3))
		if n, ok := o.get(id); !ok || n != fmt.Sprintf("node-%d", i%3) {
			t.Fatalf("get(%s) right after put = %q, %v", id, n, ok)
		}
	}
	if n := o.len(); n > max || n < max/2 {
		t.Fatalf("holds %d connections, want at most %d (and most of them)", n, max)
	}
	buf := []byte("conn-reused")
	o.put(unsafe.String(&buf[0], len(buf)), "node-x") // as an id read from a pooled request buffer
	copy(buf, "XXXX")                                 // put must copy the id: the caller's buffer may be reused
	if n, ok := o.get("conn-reused"); !ok || n != "node-x" {
		t.Fatalf("get after the caller reused its buffer = %q, %v", n, ok)
	}
	o.forget("conn-reused")
	if _, ok := o.get("conn-reused"); ok {
		t.Fatal("forget: still remembered")
	}
}
