package server

import (
	"bufio"
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
)

// memoryLimitShare is the part of the memory available to the process that the Go runtime's
// soft limit is set to: the rest is for what the runtime does not count (thread stacks outside
// the heap, the kernel's socket buffers charged to the cgroup).
const memoryLimitShare = 0.9

// SetMemoryLimit gives the Go runtime a soft memory limit (runtime/debug.SetMemoryLimit) when
// GOMEMLIMIT does not set one: 90% of the memory the process may use, the smaller of its
// cgroup's limit (v2 memory.max, v1 memory.limit_in_bytes) and the machine's MemTotal. With
// GOGC's default the heap may grow to twice what is live before a collection; near the limit
// the collector runs more often instead, so a node packed with idle connections stays within
// its container rather than being killed for headroom it never needed. It returns the limit
// in bytes and where it came from ("GOMEMLIMIT", "cgroup", "machine"), or 0 and "" when none
// could be read; it logs one line either way.
func SetMemoryLimit(log *slog.Logger) (int64, string) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		limit := debug.SetMemoryLimit(-1) // the runtime parsed GOMEMLIMIT at start
		log.Info("memory limit", "limit", limit, "source", "GOMEMLIMIT")
		return limit, "GOMEMLIMIT"
	}
	avail, source := availableMemory("/")
	if avail <= 0 {
		log.Info("memory limit: none (neither a cgroup limit nor MemTotal could be read); set GOMEMLIMIT to bound the heap")
		return 0, ""
	}
	limit := int64(float64(avail) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	log.Info("memory limit", "limit", limit, "source", source, "available", avail)
	return limit, source
}

// HeapFloorBytes is the least heap goal the collector keeps while the node routes messages
// (HoldHeapFloor).
const HeapFloorBytes = 32 << 20

// maxHeapFloorPercent bounds the GOGC HoldHeapFloor sets when the live heap is tiny.
const maxHeapFloorPercent = 1600

// HoldHeapFloor keeps the collector's heap goal at HeapFloorBytes or more while the node routes
// messages, and leaves GOGC's default (a goal of twice the live heap) otherwise. routed counts
// the messages routed so far (Server.Routed); after each collection the goal for the next is
// set from the live heap and whether routed moved since the last one. It does nothing when
// GOGC is set (the operator's choice stands); it stops when stop is closed.
//
// Why: with a few thousand connections the live heap is a few MB, so at GOGC=100 a node
// routing thousands of messages a second collects several times a second, and on a small
// machine each mark phase holds a CPU for milliseconds: the messages that arrive then are the
// p99 (docs/benchmarks.md, "The p99 tail"). 32 MB of goal makes that every few seconds. An idle
// node (no messages: connections only) keeps the default goal, so the memory each idle
// connection costs is unchanged; above 16 MB live the floor is below the default and changes
// nothing.
func HoldHeapFloor(log *slog.Logger, routed func() uint64, stop <-chan struct{}) {
	if os.Getenv("GOGC") != "" {
		log.Info("heap floor: off (GOGC is set)")
		return
	}
	f := &heapFloor{floor: HeapFloorBytes, routed: routed, stop: stop, percent: 100,
		live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	f.last = routed()
	f.arm()
}

// heapFloor is HoldHeapFloor's state: touched only by the cleanup that runs after each
// collection (one at a time).
type heapFloor struct {
	floor   uint64
	routed  func() uint64
	stop    <-chan struct{}
	last    uint64 // routed at the last collection
	percent int    // the GOGC in force
	live    []metrics.Sample
}

// gcCycle is allocated for each collection: its cleanup runs after the collection that found
// it unreachable. (A pointer keeps it out of the tiny allocator, whose batches may keep an
// object alive past its collection.)
type gcCycle struct {
	_ *byte
	_ uint64
}

func (f *heapFloor) arm() {
	runtime.AddCleanup(&gcCycle{}, func(f *heapFloor) { f.collected() }, f)
}

// collected sets the next goal after a collection, and arms the next call.
func (f *heapFloor) collected() {
	select {
	case <-f.stop:
		if f.percent != 100 {
			debug.SetGCPercent(100)
		}
		return
	default:
	}
	metrics.Read(f.live)
	n := f.routed()
	busy := n != f.last
	f.last = n
	if p := floorPercent(f.floor, f.live[0].Value.Uint64(), busy); p != f.percent {
		debug.SetGCPercent(p)
		f.percent = p
	}
	f.arm()
}

// floorPercent is the GOGC that makes the heap goal (live × (1 + GOGC/100)) at least floor
// while busy, never below 100 (the default) nor above maxHeapFloorPercent.
func floorPercent(floor, live uint64, busy bool) int {
	if !busy || live == 0 || live*2 >= floor {
		return 100
	}
	return min(int((floor*100+live-1)/live)-100, maxHeapFloorPercent) // rounded up: the goal reaches the floor
}

// availableMemory is the memory the process may use, read under root ("/" but in tests): the
// cgroup's limit when there is one below the machine's, else the machine's MemTotal.
func availableMemory(root string) (int64, string) {
	machine := memTotal(filepath.Join(root, "proc/meminfo"))
	cg := cgroupLimit(root)
	if cg > 0 && (machine <= 0 || cg < machine) {
		return cg, "cgroup"
	}
	if machine > 0 {
		return machine, "machine"
	}
	return 0, ""
}

// memTotal reads MemTotal from a /proc/meminfo file, in bytes; 0 if it cannot.
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 {
			return 0
		}
		return kb * 1024
	}
	return 0
}

// cgroupLimit is the memory limit of the process's cgroup in bytes, 0 for none or unknown. For
// cgroup v2 it reads memory.max in the process's group (/proc/self/cgroup's "0::" line); for v1
// memory.limit_in_bytes in its memory group. A v1 "no limit" is a number near 2^63, which the
// caller's comparison with MemTotal drops.
func cgroupLimit(root string) int64 {
	self, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0
	}
	var v2, v1 string
	for _, line := range bytes.Split(self, []byte("\n")) {
		parts := strings.SplitN(string(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case strings.Contains(","+parts[1]+",", ",memory,"):
			v1 = parts[2]
		}
	}
	read := func(path string) int64 {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return 0
		}
		return n
	}
	if v1 != "" {
		if n := read(filepath.Join(root, "sys/fs/cgroup/memory", v1, "memory.limit_in_bytes")); n > 0 {
			return n
		}
		if n := read(filepath.Join(root, "sys/fs/cgroup/memory/memory.limit_in_bytes")); n > 0 {
			return n // a container sees its own group as the root of the hierarchy
		}
	}
	if v2 != "" {
		if n := read(filepath.Join(root, "sys/fs/cgroup", v2, "memory.max")); n > 0 {
			return n
		}
		return read(filepath.Join(root, "sys/fs/cgroup/memory.max"))
	}
	return 0
}
