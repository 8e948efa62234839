package gateway

import (
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestShapesShares(t *testing.T) {
	in := newShapes(2, 32)
	k := connShape{userAgent: "curl/8.5.0", domainName: "example.com", path: "/dev"}
	a := in.get(k)
	b := in.get(connShape{userAgent: strings.Clone(k.userAgent), domainName: strings.Clone(k.domainName), path: "/dev"})
	if *a != k || a != b {
		t.Fatalf("second get of an equal shape was not shared: %p %p", a, b)
	}
	long := connShape{userAgent: strings.Repeat("x", 33)}
	if got := in.get(long); *got != long || len(in.m) != 1 {
		t.Fatalf("over-long shape: got %+v, %d entries (want it returned as is, not kept)", *got, len(in.m))
	}
	in.get(connShape{path: "/other"})
	third := connShape{path: "/third"}
	got := in.get(third)
	if *got != third || len(in.m) != 2 || in.get(third) == got {
		t.Fatalf("a full table must return a shape of the caller's own and keep %d entries, has %d", 2, len(in.m))
	}
}

// Run with -race: concurrent gets of the same and new shapes.
func TestShapesConcurrent(t *testing.T) {
	in := newShapes(64, 64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := connShape{userAgent: "ua-" + strconv.Itoa((i+g)%100), path: "/dev"}
				if got := in.get(k); *got != k {
					t.Errorf("get(%+v) = %+v", k, *got)
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
