package wsclient

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
)

type frame struct {
	op      byte
	fin     bool
	payload string
}

func serverFrame(op byte, fin bool, payload []byte) []byte {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

func collect(t *testing.T, buf []byte) ([]frame, int, error) {
	t.Helper()
	var got []frame
	n, err := parseFrames(buf, func(op byte, fin bool, p []byte) { got = append(got, frame{op, fin, string(p)}) })
	return got, n, err
}

func TestParseFrames(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 300)
	huge := bytes.Repeat([]byte("b"), 70000)
	stream := append(append(append(serverFrame(opText, true, []byte("hi")), serverFrame(opPing, true, []byte("p"))...),
		serverFrame(opText, true, big)...), serverFrame(opBinary, true, huge)...)
	got, n, err := collect(t, stream)
	if err != nil || n != len(stream) || len(got) != 4 {
		t.Fatalf("whole stream: %d frames, used %d of %d, err %v", len(got), n, len(stream), err)
	}
	if got[0] != (frame{opText, true, "hi"}) || got[1] != (frame{opPing, true, "p"}) || got[2].payload != string(big) || len(got[3].payload) != len(huge) {
		t.Fatalf("frames: %+v", got[:2])
	}
	// Every split point leaves a prefix of whole frames and consumes exactly them.
	for cut := 0; cut < len(stream); cut += 1 + cut/256 {
		_, n, err := collect(t, stream[:cut])
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		rest, m, err := collect(t, append(append([]byte(nil), stream[n:cut]...), stream[cut:]...))
		if err != nil || n+m != len(stream) {
			t.Fatalf("cut %d: resumed at %d, used %d more (%d frames), err %v", cut, n, m, len(rest), err)
		}
	}
}

func TestParseFramesErrors(t *testing.T) {
	for name, in := range map[string][]byte{
		"masked":             {0x81, 0x81, 0, 0, 0, 0, 'x'},
		"reserved bits":      {0xC1, 0x00},
		"long ping":          append([]byte{0x89, 126, 0, 126}, make([]byte, 126)...),
		"fragmented control": {0x09, 0x00},
		"too long":           {0x82, 127, 0, 0, 0, 0, 0x10, 0, 0, 1},
	} {
		if _, _, err := collect(t, in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAppendClientFrame(t *testing.T) {
	for _, n := range []int{0, 5, 125, 126, 65535, 65536} {
		p := bytes.Repeat([]byte("z"), n)
		f := appendClientFrame(nil, opText, p)
		if f[0] != 0x81 || f[1]&0x80 == 0 {
			t.Fatalf("n=%d: header % x", n, f[:2])
		}
		// Unmask (the key is zero) and parse it as a server frame.
		hdr := len(f) - n - 4
		plain := append(append([]byte{f[0], f[1] &^ 0x80}, f[2:hdr]...), f[hdr+4:]...)
		got, used, err := collect(t, plain)
		if err != nil || used != len(plain) || len(got) != 1 || got[0].payload != string(p) {
			t.Fatalf("n=%d: %v used %d", n, err, used)
		}
	}
}

func FuzzParseFrames(f *testing.F) {
	f.Add(serverFrame(opText, true, []byte("hello")))
	f.Add(append(serverFrame(opText, false, []byte("he")), serverFrame(opCont, true, []byte("llo"))...))
	f.Add(serverFrame(opBinary, true, bytes.Repeat([]byte("a"), 200)))
	f.Add([]byte{0x81, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		n, err := parseFrames(b, func(op byte, fin bool, p []byte) { total += len(p) })
		if n < 0 || n > len(b) || total > n {
			t.Fatalf("used %d of %d bytes, payloads %d", n, len(b), total)
		}
		if err == nil {
			// What was left is an incomplete frame: parsing it alone consumes nothing.
			m, err2 := parseFrames(b[n:], func(byte, bool, []byte) {})
			if m != 0 || err2 != nil {
				t.Fatalf("rest of %d bytes: used %d, err %v", len(b)-n, m, err2)
			}
		}
	})
}

// oneByte reads one byte per call, so every frame arrives split.
type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}

func TestReadTextAndWriteText(t *testing.T) {
	ping := serverFrame(opPing, true, []byte("p"))
	msg := serverFrame(opText, true, []byte(`{"id":1,"connect":{}}`))
	// Part of the first frame came with the handshake's read; the rest a byte at a time.
	stream := append(ping, msg...)
	got, err := ReadText(&oneByte{stream[3:]}, stream[:3])
	if err != nil || string(got) != `{"id":1,"connect":{}}` {
		t.Fatalf("%q %v", got, err)
	}
	closeFrame := serverFrame(opClose, true, append([]byte{0x0D, 0xAC}, "invalid token"...))
	if _, err := ReadText(bytes.NewReader(closeFrame), nil); err == nil || !strings.Contains(err.Error(), `3500 "invalid token"`) {
		t.Fatalf("close: %v", err)
	}
	if _, err := ReadText(bytes.NewReader(msg[:5]), nil); err != io.EOF {
		t.Fatalf("truncated: %v", err)
	}
	var w bytes.Buffer
	if err := WriteText(&w, []byte("hi")); err != nil || !bytes.Equal(w.Bytes(), []byte{0x81, 0x82, 0, 0, 0, 0, 'h', 'i'}) {
		t.Fatalf("% x %v", w.Bytes(), err)
	}
}
