#!/usr/bin/env python3
"""Group a Go CPU profile's samples (go tool pprof -traces) for docs/benchmarks.md.

    scripts/pprof-groups.py BINARY PROFILE   (docs/benchmarks.md: the sitting's profiles)

Each sample goes to one group by its leaf frame: syscalls (and which syscall, and who issued it),
GC (any collector frame on the stack), net/http, nbio (third_party/nbio), wsgate's own code,
runtime allocation, runtime scheduler, other standard library (attributed to the nearest caller).
"""
import re
import subprocess
import sys
from collections import Counter

binary, prof = sys.argv[1], sys.argv[2]
txt = subprocess.run(["go", "tool", "pprof", "-traces", binary, prof], capture_output=True, text=True).stdout

NBIO = "github.com/wsgate/wsgate/third_party/nbio"
WSG = "github.com/wsgate/wsgate/"
GC_FRAMES = ("runtime.gcBgMarkWorker", "runtime.gcAssistAlloc", "runtime.bgsweep", "runtime.bgscavenge",
             "runtime.gcDrain", "runtime.markroot", "runtime.sweepone", "runtime.gcStart", "runtime.gcMarkDone",
             "runtime.gcMarkTermination", "runtime.wbBufFlush", "runtime.bulkBarrierPreWrite", "runtime.scanobject",
             "runtime.scanObject", "runtime.greyobject", "runtime.(*mheap).reclaim", "runtime.deductSweepCredit")
SYS_LEAF = re.compile(r"^(internal/runtime/syscall/linux\.Syscall6|syscall\.(Raw)?Syscall6?|runtime\.(futex|epollwait|usleep|write1|read|madvise|mmap|munmap|osyield|sched_yield|tgkill|nanosleep|rt_sigprocmask|exitThread|clone))")
ALLOC = re.compile(r"^runtime\.(mallocgc|newobject|makeslice|growslice|nextFreeFast|memclrNoHeapPointers|\(\*mcache\)|\(\*mcentral\)|\(\*mheap\)|\(\*mspan\)|heapSetType|newarray|rawstring|rawbyteslice|slicebytetostring|concatstring|makemap|mallocgc.*|.*writeHeapBits|deductAssistCredit|publicationBarrier|nextFree)")
SCHED = re.compile(r"^runtime\.(schedule|findRunnable|findrunnable|park_m|mcall|gopark|goready|ready|runqget|runqput|runqgrab|runqsteal|stealWork|netpoll|checkTimers|mPark|notesleep|notewakeup|wakep|startm|stopm|handoffp|casgstatus|lock2|unlock2|goexit|newproc|execute|gogo|systemstack|asyncPreempt|resetspinning|pidleget|entersyscall|exitsyscall|reentersyscall|(\*timer)|.*[Tt]imer|nanotime|selectgo|chansend|chanrecv|futexwake|futexsleep|semasleep|semawakeup|procyield|findObject|gcWriteBarrier|memmove)")


def pkg(frame):
    if frame.startswith(NBIO):
        return "nbio"
    if frame.startswith(WSG):
        return "wsgate"
    if frame.startswith("net/http.") or frame.startswith("net/textproto.") or frame.startswith("net/http/"):
        return "net/http"
    return None


samples = []  # (value in ms, frames leaf first)
for block in txt.split("-----------+-------------------------------------------------------")[1:]:
    lines = [l for l in block.split("\n") if l.strip()]
    if not lines:
        continue
    m = re.match(r"\s*([\d.]+)(ms|s|us|µs)\s+(.*)", lines[0])
    if not m:
        continue
    v = float(m.group(1)) * {"ms": 1, "s": 1000, "us": 0.001, "µs": 0.001}[m.group(2)]
    frames = [m.group(3).strip()] + [l.strip() for l in lines[1:]]
    frames = [re.sub(r" \(inline\)$", "", f) for f in frames]
    samples.append((v, frames))

total = sum(v for v, _ in samples)
groups, sysname, sysby = Counter(), Counter(), Counter()
for v, fr in samples:
    leaf = fr[0]
    if SYS_LEAF.match(leaf):
        groups["syscalls"] += v
        name = next((f for f in fr[1:] if re.match(r"^(syscall|internal/runtime/syscall/linux|runtime|golang.org/x/sys/unix)\.[A-Za-z_]", f)
                     and not re.match(r".*\.(Raw)?Syscall6?$|.*\.syscall$", f)), leaf)
        sysname[name] += v
        sysby[next((pkg(f) for f in fr if pkg(f)), "runtime/net")] += v
    elif any(f.startswith(GC_FRAMES) for f in fr):
        groups["GC"] += v
    elif pkg(leaf):
        groups[pkg(leaf)] += v
    elif ALLOC.match(leaf):
        groups["runtime: allocation"] += v
    elif SCHED.match(leaf) and not any(pkg(f) for f in fr[:3]):
        groups["runtime: scheduler, timers, locks"] += v
    else:
        # other standard library or runtime helpers: charged to the nearest caller we name
        groups["std under " + next((pkg(f) for f in fr if pkg(f)), "runtime/other")] += v

comb = Counter()
for g, v in groups.items():
    comb[g.replace("std under ", "")] += v
print(f"{prof}: {total/1000:.2f} s of samples (std library code charged to its nearest named caller)")
for g, v in comb.most_common():
    print(f"  {g:40s} {v/1000:6.2f} s  {100*v/total:5.1f}%")
print("  syscalls by issuer:", ", ".join(f"{k} {100*v/total:.1f}%" for k, v in sysby.most_common()))
print("  syscalls by call:  ", ", ".join(f"{k.split('.')[-1]} {100*v/total:.1f}%" for k, v in sysname.most_common(6)))
