package gateway

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func TestInternerShares(t *testing.T) {
	in := newInterner(2, 16)
	a := in.get(strings.Clone("curl/8.5.0"))
	b := in.get(strings.Clone("curl/8.5.0"))
	if a != "curl/8.5.0" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("second get of an equal string was not shared")
	}
	long := strings.Repeat("x", 17)
	if got := in.get(long); got != long || len(in.m) != 1 {
		t.Fatalf("over-long string: got %q, %d entries (want it returned as is, not kept)", got, len(in.m))
	}
	in.get("other")
	third := strings.Clone("third")
	if got := in.get(third); unsafe.StringData(got) != unsafe.StringData(third) || len(in.m) != 2 {
		t.Fatalf("a full interner must return its argument and keep %d entries, has %d", 2, len(in.m))
	}
	if in.get("") != "" {
		t.Fatal("empty string")
	}
}

// Run with -race: concurrent gets of the same and new strings.
func TestInternerConcurrent(t *testing.T) {
	in := newInterner(64, 64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := "ua-" + strconv.Itoa((i+g)%100)
				if got := in.get(s); got != s {
					t.Errorf("get(%q) = %q", s, got)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(in.m) > 64 {
		t.Fatalf("%d entries, bound is 64", len(in.m))
	}
}
