package gateway

import (
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/third_party/nbio"
	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"
)

// Every byte a client sends passes onData before nbio's WebSocket parser sees it. onData does
// two jobs nbio (v1.6.7) does not:
//
//   - It checks each frame header against RFC 6455 §5 and fails the connection with a close
//     frame (1002, or 1009 for AWS's frame and message limits) at the first bad one: nbio
//     accepts unmasked client frames, and drops the socket without a close frame for reserved
//     bits and opcodes, fragmented control frames and stray continuations. Frames before the
//     bad one are parsed; nothing after it is.
//   - It stops reading a connection whose messages queued for integrations passed
//     limits.inboundQueueBytes (pause: the poller stops reading the socket, so the kernel's
//     receive buffer fills and TCP flow control stops the client), and reads on when the
//     queue has drained to half. What the poller read before the pause took effect is held
//     unparsed (at most as many bytes again, then 1008); the sweeper closes a connection
//     paused longer than limits.inboundStallTimeout (1008).

// inbound is one connection's read side.
type inbound struct {
	mu     sync.Mutex // held while parsing, so held bytes and new ones are parsed in order
	f      framer
	paused atomic.Pointer[paused] // nil while reading (nearly always: one word, not four)
}

// paused is a connection's stop: since when (unix nanos), and what the poller read after it was
// decided (parsed at resume; written under inbound.mu).
type paused struct {
	since int64
	held  []byte
}

// framer follows the frame headers of one connection's byte stream. Plain data: only the poller
// of the connection touches it (under earlyMu before attach, then under inbound.mu).
type framer struct {
	hdr   [14]byte // a header split across reads, held until it is whole and checked
	nhdr  uint8
	state uint8  // framerInMsg, framerFailed
	msg   uint32 // payload bytes of the data message so far
	// remain is the payload bytes of the current frame still to come: at most 1<<31 (a
	// control frame's at most 125; checkLength refuses longer data frames).
	remain uint32
}

// Bits of framer.state (one byte where two bools would make the framer, and Conn, 8 bytes
// larger).
const (
	framerInMsg  uint8 = 1 << iota // a fragmented data message is in progress
	framerFailed                   // a bad frame was seen: nothing more is parsed
)

func (f *framer) inMsg() bool  { return f.state&framerInMsg != 0 }
func (f *framer) failed() bool { return f.state&framerFailed != 0 }

// scanned is what may go to the parser from one read: pre (the start of a header held from an
// earlier read, now whole and checked), then p[:n]. fail is the close for the first bad frame
// in the read, if any: nothing of it or after it goes to the parser.
type scanned struct {
	pre  [14]byte
	npre int
	n    int
	fail *closeReason
}

// scan checks the frames in p, which follows what earlier calls saw.
func (f *framer) scan(p []byte, l *Limits) (s scanned) {
	if f.failed() || len(p) == 0 {
		return s
	}
	if f.nhdr > 0 {
		s.npre = copy(s.pre[:], f.hdr[:f.nhdr])
	}
	i := 0
	for i < len(p) {
		if f.remain > 0 {
			k := min(len(p)-i, int(f.remain))
			i += k
			f.remain -= uint32(k)
			continue
		}
		start := i // where this frame's bytes in p begin
		need := 2
		if f.nhdr >= 2 { // the first two bytes were read and checked in an earlier read
			need = headerLen(f.hdr[1])
		}
		for int(f.nhdr) < need && i < len(p) {
			f.hdr[f.nhdr] = p[i]
			f.nhdr++
			i++
			if f.nhdr == 2 {
				if r := f.checkStart(); r != nil {
					return f.fail(s, start, r)
				}
				need = headerLen(f.hdr[1])
			}
		}
		if int(f.nhdr) < need {
			// The header goes on in the next read: hold it back until then.
			if start == 0 {
				s.npre = 0 // still incomplete: what was held stays held
			}
			s.n = start
			return s
		}
		f.nhdr = 0
		if r := f.checkLength(l); r != nil {
			return f.fail(s, start, r)
		}
	}
	s.n = len(p)
	return s
}

// fail records a bad frame that starts at p[start:] (or in the held bytes, if start is 0 and
// some were held) and stops the stream there.
func (f *framer) fail(s scanned, start int, r *closeReason) scanned {
	f.state |= framerFailed
	f.nhdr = 0
	if start == 0 {
		s.npre = 0
	}
	s.n, s.fail = start, r
	return s
}

// headerLen is the length of a masked client frame header given its second byte: 2, plus 2 or 8
// for an extended length, plus 4 for the mask key.
func headerLen(b1 byte) int {
	n := 2 + 4
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	return n
}

// checkStart checks what the first two bytes of a header say (RFC 6455 §5.2, §5.4, §5.5).
func (f *framer) checkStart() *closeReason {
	b0, b1 := f.hdr[0], f.hdr[1]
	fin, op := b0&0x80 != 0, b0&0x0F
	var r closeReason // set only for a bad header; see fault
	switch {
	case b0&0x70 != 0:
		r = protocolError("Reserved bits set with no extension negotiated")
	case op > 2 && op < 8 || op > 10:
		r = protocolError("Reserved opcode " + strconv.Itoa(int(op)))
	case b1&0x80 == 0:
		r = protocolError("Client frames must be masked")
	case op >= 8 && b1&0x7F > 125:
		r = protocolError("Control frame longer than 125 bytes")
	case op >= 8 && !fin:
		r = protocolError("Fragmented control frame")
	case op == 8 && b1&0x7F == 1:
		r = protocolError("Close frame with a 1-byte payload")
	case op == 0 && !f.inMsg():
		r = protocolError("Continuation frame with no message to continue")
	case (op == 1 || op == 2) && f.inMsg():
		r = protocolError("New data frame inside a fragmented message")
	default:
		return nil
	}
	return fault(r)
}

// fault returns r on the heap. The checks keep their reason in a local value and call it only
// for a bad frame: returning &r from them would move r to the heap on every header, good ones
// included (one allocation per frame on the route path).
func fault(r closeReason) *closeReason { return &r }

// checkLength checks the whole header's payload length against AWS's frame and message limits
// and sets up the payload to skip.
func (f *framer) checkLength(l *Limits) *closeReason {
	fin, op := f.hdr[0]&0x80 != 0, f.hdr[0]&0x0F
	var n uint64
	switch f.hdr[1] & 0x7F {
	case 126:
		n = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
	case 127:
		n = binary.BigEndian.Uint64(f.hdr[2:10])
	default:
		n = uint64(f.hdr[1] & 0x7F)
	}
	var r closeReason
	switch {
	case n>>63 != 0:
		r = protocolError("Invalid frame length")
	case op >= 8:
		f.remain = uint32(n) // at most 125: checkStart saw to it
		return nil
	case l.FrameBytes > 0 && l.FrameBytes < l.MessageBytes && n > uint64(l.FrameBytes):
		r = reasonFrameBig
	case l.MessageBytes > 0 && uint64(f.msg)+n > uint64(l.MessageBytes):
		r = reasonTooBig
	case uint64(f.msg)+n > 1<<31:
		r = reasonTooBig // with no messageBytes limit, still within what the parser takes
	default:
		f.msg += uint32(n)
		f.state &^= framerInMsg
		if fin {
			f.msg = 0
		} else {
			f.state |= framerInMsg
		}
		f.remain = uint32(n) // at most 1<<31: the case above
		return nil
	}
	return fault(r)
}

// onData receives what the poller read from a socket (nbio's engine OnData) and passes it on to
// the socket's own handler (nbio's parser) as far as it may go.
func (g *Gateway) onData(nc *nbio.Conn, data []byte) {
	ws, ok := nc.Session().(*websocket.Conn)
	if !ok {
		if h := nc.DataHandler(); h != nil {
			h(nc, data)
		}
		return
	}
	if c := g.session(ws); c != nil {
		c.onData(nc, data)
		return
	}
	sc := new(scanned) // rare: before attach, read under the closure below
	c := g.sessionOrEarly(ws, func(e *earlyEvents) { *sc = e.f.scan(data, &g.o.Limits) })
	if c == nil {
		sc.parse(nc, data)
		if sc.fail != nil {
			g.closeEarly(ws, *sc.fail)
		}
		return
	}
	c.onData(nc, data)
}

// onData is Gateway.onData for an attached connection.
func (c *Conn) onData(nc *nbio.Conn, data []byte) {
	g := c.shape.g
	in := &c.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if p := in.paused.Load(); p != nil && !in.f.failed() {
		if limit := g.o.Limits.InboundQueueBytes; len(p.held)+len(data) > limit {
			in.f.state |= framerFailed
			p.held = nil
			c.close(reasonFlood)
			return
		}
		p.held = append(p.held, data...)
		return
	}
	c.feed(nc, data)
}

// feed scans data and parses what may be parsed. Caller holds c.in.mu.
func (c *Conn) feed(nc *nbio.Conn, data []byte) {
	sc := c.in.f.scan(data, &c.shape.g.o.Limits)
	sc.parse(nc, data)
	if sc.fail != nil {
		c.close(*sc.fail)
	}
}

// parse hands what s allows of data (the read it scanned) to the parser. The held header
// bytes are copied out first: passing a slice of s.pre to the parser (a function value) would
// move every scanned to the heap, one allocation per read.
func (s *scanned) parse(nc *nbio.Conn, data []byte) {
	if s.npre > 0 {
		parse(nc, append([]byte(nil), s.pre[:s.npre]...))
	}
	parse(nc, data[:s.n])
}

// parse hands data to the socket's WebSocket parser (the handler nbio's upgrader installed).
func parse(nc *nbio.Conn, data []byte) {
	if len(data) == 0 {
		return
	}
	if h := nc.DataHandler(); h != nil {
		h(nc, data)
	}
}

// pause stops reading the connection until resume. A ws:// socket's reads stop in the poller
// (nbio's Conn.PauseReading), so the kernel's receive buffer fills and TCP flow control stops
// the client; what the poller had read before that is held unparsed, bounded by
// limits.inboundQueueBytes (past it, 1008). A wss:// socket's reader goroutine waits instead
// (blocking.go). Caller holds c.mu, which orders the pause with resume's.
func (in *inbound) pause(c *Conn) {
	if !in.paused.CompareAndSwap(nil, &paused{since: time.Now().UnixNano()}) {
		return
	}
	c.shape.g.metrics.InboundPaused.Inc()
	if r, ok := readPauser(c.ws); ok {
		_ = r.PauseReading() // unsupported or closed: the hold bounds what is read
	}
}

// resume parses what was held during a pause and reads on.
func (in *inbound) resume(c *Conn) {
	if in.paused.Load() == nil {
		return
	}
	in.mu.Lock() // what the poller reads once reads resume waits for the held bytes
	defer in.mu.Unlock()
	c.mu.Lock()
	p := in.paused.Swap(nil)
	if p == nil {
		c.mu.Unlock()
		return
	}
	ws := c.ws
	if r, ok := readPauser(ws); ok {
		_ = r.ResumeReading()
	}
	c.mu.Unlock()
	if nc, _ := ws.Conn.(*nbio.Conn); nc != nil && len(p.held) > 0 {
		c.feed(nc, p.held)
	}
}

// readPauser is the socket's poller-side read switch: *nbio.Conn on Linux (a patch of the
// vendored nbio, see third_party/nbio/PATCH.md); none for wss:// sockets and other platforms.
func readPauser(ws *websocket.Conn) (interface {
	PauseReading() error
	ResumeReading() error
}, bool) {
	if ws == nil {
		return nil, false
	}
	r, ok := ws.Conn.(interface {
		PauseReading() error
		ResumeReading() error
	})
	return r, ok
}

// stalledSince is how long the connection has been paused at now (unix nanos); 0 if it is not.
func (in *inbound) stalledSince(now int64) time.Duration {
	if p := in.paused.Load(); p != nil {
		return time.Duration(now - p.since)
	}
	return 0
}
