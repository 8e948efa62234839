package gateway

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"
)

// The per-connection struct stays in the 128-byte size class: memory per idle connection is
// what decides how many connections a machine holds (docs/benchmarks.md).
func TestConnFitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 128 {
		t.Fatalf("gateway.Conn is %d bytes, over the 128-byte size class it fitted", n)
	}
}

// frame is a masked client frame with opcode byte b0 (FIN, RSV, opcode).
func frame(b0 byte, payload []byte) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, 1, 2, 3, 4)
	for i, b := range payload {
		f = append(f, b^byte(i%4+1))
	}
	return f
}

var testLimits = Limits{MessageBytes: 128 << 10, FrameBytes: 32 << 10}

// scanAll feeds p to a fresh framer in pieces cut at cuts and returns how many bytes in all it
// let through and the first failure.
func scanAll(p []byte, cuts ...int) (int, *closeReason) {
	var f framer
	total, prev := 0, 0
	for _, c := range append(cuts, len(p)) {
		if c < prev || c > len(p) {
			continue
		}
		sc := f.scan(p[prev:c], &testLimits)
		total += sc.npre + sc.n
		if sc.fail != nil {
			return total, sc.fail
		}
		prev = c
	}
	return total, nil
}

func TestFramerFindsTheBadFrameAcrossReads(t *testing.T) {
	good := append(frame(0x81, []byte("hello")), frame(0x01, bytes.Repeat([]byte("a"), 300))...)
	good = append(good, frame(0x89, []byte("ping"))...) // a ping between fragments is allowed
	good = append(good, frame(0x80, []byte("end"))...)
	bad := frame(0x83, []byte("x")) // reserved opcode 3
	stream := append(append([]byte(nil), good...), bad...)
	for cut := range len(stream) + 1 {
		n, fail := scanAll(stream, cut)
		if fail == nil || fail.code != 1002 {
			t.Fatalf("cut at %d: failure %v, want 1002", cut, fail)
		}
		// Exactly the frames before the bad one, however the reads are cut.
		if n != len(good) {
			t.Fatalf("cut at %d: %d bytes let through, want the %d before the bad frame", cut, n, len(good))
		}
	}
	if n, fail := scanAll(good, 3, 7, 100); fail != nil || n != len(good) {
		t.Fatalf("good frames: %d bytes, failure %v", n, fail)
	}
}

func TestFramerLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		code   int
	}{
		{"unmasked", []byte{0x81, 0x01, 'x'}, 1002},
		{"frame over frameBytes", frame(0x81, make([]byte, 32<<10+1)), 1009},
		{"message over messageBytes", bytes.Join([][]byte{
			frame(0x01, make([]byte, 32<<10)), frame(0x00, make([]byte, 32<<10)), frame(0x00, make([]byte, 32<<10)),
			frame(0x00, make([]byte, 32<<10)), frame(0x80, []byte("!")),
		}, nil), 1009},
		{"64-bit length with its top bit set", append([]byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, 1, 2, 3, 4), 1002},
	} {
		if _, fail := scanAll(tc.stream); fail == nil || fail.code != tc.code {
			t.Errorf("%s: failure %v, want %d", tc.name, fail, tc.code)
		}
	}
}

// However a stream is cut into reads, the framer lets the same bytes through and fails on the
// same frame as when it gets the stream whole.
func FuzzFramerCuts(f *testing.F) {
	f.Add(append(frame(0x81, []byte("hi")), frame(0x8A, nil)...), 1, 3)
	f.Add(append(frame(0x01, []byte("a")), frame(0x81, []byte("b"))...), 2, 9)
	f.Add([]byte{0x81, 0xFE, 0x00}, 1, 2)
	f.Fuzz(func(t *testing.T, stream []byte, a, b int) {
		wantN, wantFail := scanAll(stream)
		a, b = min(max(a, 0), len(stream)), min(max(b, 0), len(stream))
		n, fail := scanAll(stream, min(a, b), max(a, b))
		if (fail == nil) != (wantFail == nil) || fail != nil && *fail != *wantFail {
			t.Fatalf("failure %v cut, %v whole", fail, wantFail)
		}
		// A header cut at the end of the stream is held back, so with no failure the cut
		// stream lets through what the whole one does.
		if n != wantN {
			t.Fatalf("%d bytes through cut, %d whole", n, wantN)
		}
	})
}
