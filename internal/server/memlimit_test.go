package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAvailableMemory: the soft memory limit follows the cgroup's limit when it is below the
// machine's memory (v1 and v2 layouts), and the machine's otherwise.
func TestAvailableMemory(t *testing.T) {
	const meminfo = "MemTotal:        2048000 kB\nMemFree:          100 kB\n"
	machine := int64(2048000 * 1024)
	for _, tc := range []struct {
		name   string
		files  map[string]string
		want   int64
		source string
	}{
		{"v2 limit", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/svc\n",
			"sys/fs/cgroup/svc/memory.max": "536870912\n"}, 536870912, "cgroup"},
		{"v2 max", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/svc\n",
			"sys/fs/cgroup/svc/memory.max": "max\n"}, machine, "machine"},
		{"v2 in a container", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/\n",
			"sys/fs/cgroup/memory.max": "268435456\n"}, 268435456, "cgroup"},
		{"v1 limit", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/a/b\n1:cpu:/\n0::/\n",
			"sys/fs/cgroup/memory/a/b/memory.limit_in_bytes": "1073741824\n"}, 1073741824, "cgroup"},
		{"v1 unlimited", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "4:memory:/a\n",
			"sys/fs/cgroup/memory/a/memory.limit_in_bytes": "9223372036854771712\n"}, machine, "machine"},
		{"limit above the machine", map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/svc\n",
			"sys/fs/cgroup/svc/memory.max": "99999999999999\n"}, machine, "machine"},
		{"nothing readable", map[string]string{}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tc.files)
			got, source := availableMemory(root)
			if got != tc.want || source != tc.source {
				t.Fatalf("availableMemory = %d, %q; want %d, %q", got, source, tc.want, tc.source)
			}
		})
	}
}

// The heap goal HoldHeapFloor asks for: at least HeapFloorBytes while messages move, GOGC's
// default otherwise and from half the floor of live heap up, bounded when the heap is tiny.
func TestFloorPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live uint64
		busy bool
		want int
	}{
		{6 * mb, true, 434},             // 6 MB live: goal 32 MB instead of 12
		{6 * mb, false, 100},            // idle: the default
		{16 * mb, true, 100},            // the default goal is the floor already
		{40 * mb, true, 100},            // above it: the default
		{mb, true, maxHeapFloorPercent}, // tiny: bounded
		{0, true, 100},                  // not read
	} {
		got := floorPercent(HeapFloorBytes, c.live, c.busy)
		if got != c.want {
			t.Errorf("floorPercent(%d MB live, busy %v) = %d, want %d", c.live/mb, c.busy, got, c.want)
		}
		if c.busy && c.live > 0 && got < maxHeapFloorPercent && c.live*uint64(100+got)/100 < HeapFloorBytes {
			t.Errorf("%d MB live: goal %d MB is below the floor", c.live/mb, c.live*uint64(100+got)/100/mb)
		}
	}
}

// HoldHeapFloor raises GOGC after a collection while routed moves, puts it back to 100 once
// routed stands still, and at stop; it leaves a GOGC the operator set alone.
func TestHoldHeapFloorFollowsTraffic(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(100)
	var routed atomic.Uint64
	moving := atomic.Bool{}
	moving.Store(true)
	count := func() uint64 {
		if moving.Load() {
			return routed.Add(1)
		}
		return routed.Load()
	}
	stop := make(chan struct{})
	HoldHeapFloor(slog.New(slog.DiscardHandler), count, stop)
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	waitFor := func(what string, ok func(p uint64) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC()
			metrics.Read(gogc)
			if p := gogc[0].Value.Uint64(); ok(p) {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("%s: GOGC still %d after 10s of collections", what, p)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("messages routed, live heap far below the floor", func(p uint64) bool { return p > 100 })
	moving.Store(false)
	waitFor("no messages since the last collection", func(p uint64) bool { return p == 100 })
	moving.Store(true)
	waitFor("messages again", func(p uint64) bool { return p > 100 })
	close(stop)
	waitFor("stopped", func(p uint64) bool { return p == 100 })

	debug.SetGCPercent(100)
	t.Setenv("GOGC", "100")
	HoldHeapFloor(slog.New(slog.DiscardHandler), count, make(chan struct{}))
	for range 3 {
		runtime.GC()
	}
	time.Sleep(20 * time.Millisecond) // a cleanup that should not exist would have run by now
	if metrics.Read(gogc); gogc[0].Value.Uint64() != 100 {
		t.Fatalf("GOGC set by the operator: HoldHeapFloor changed it to %d", gogc[0].Value.Uint64())
	}
}
