// Package procstat reads what wsgate-bench reports about a server process (its RSS and CPU
// seconds, from /proc) and raises the generator's own open-file limit.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Stat is a snapshot of a process's memory and CPU time from /proc.
type Stat struct {
	RSSKB   int64   // VmRSS
	CPUSecs float64 // utime + stime
}

// clockTicks is USER_HZ, 100 on every Linux the generator targets.
const clockTicks = 100

// Read reads /proc/PID/status and /proc/PID/stat.
func Read(pid int) (Stat, error) {
	var s Stat
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("gateway pid %d: %w", pid, err)
	}
	for line := range bytes.SplitSeq(st, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(v)
			if len(f) > 0 {
				s.RSSKB, _ = strconv.ParseInt(string(f[0]), 10, 64)
			}
		}
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("gateway pid %d: %w", pid, err)
	}
	// The command name may hold spaces and parentheses: fields count from the last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no ')' in %q", pid, raw)
	}
	f := bytes.Fields(raw[i+1:])
	// After ")": state is field 3, utime 14, stime 15 (1-based in proc(5)).
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields after the name, want at least 13", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stt, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: utime %q stime %q are not numbers", pid, f[11], f[12])
	}
	s.CPUSecs = float64(ut+stt) / clockTicks
	return s, nil
}

// RaiseNoFile raises the soft RLIMIT_NOFILE to the hard limit and returns what it got.
func RaiseNoFile() (soft, hard uint64, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, 0, err
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return r.Cur, r.Max, fmt.Errorf("raise open-file limit to %d: %w", r.Max, err)
		}
	}
	return r.Cur, r.Max, nil
}
