package gateway

import (
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// Every byte a client sends passes onData before nbio's WebSocket parser sees it. onData does
// two jobs nbio (v1.6.7) does not:
//
//   - It checks each frame header against RFC 6455 §5 and fails the connection with a close
//     frame (1002, or 1009 for AWS's frame and message limits) at the first bad one: nbio
//     accepts unmasked client frames, and drops the socket without a close frame for reserved
//     bits and opcodes, fragmented control frames and stray continuations. Frames before the
//     bad one are parsed; nothing after it is.
//   - It stops consuming a connection whose messages queued for integrations passed
//     limits.inboundQueueBytes: what arrives is held unparsed (at most as many bytes again,
//     then 1008), and parsed when the queue has drained to half. nbio has no way to pause a
//     socket's reads, so the kernel's receive buffer does not fill; the hold bounds memory
//     instead, and the sweeper closes a connection held longer than inboundStallTimeout.

// inbound is one connection's read side.
type inbound struct {
	mu      sync.Mutex // held while parsing, so held bytes and new ones are parsed in order
	f       framer
	paused  atomic.Bool
	stalled atomic.Int64 // unix nanos the pause began
	held    []byte
}

// framer follows the frame headers of one connection's byte stream. Plain data: only the poller
// of the connection touches it (under earlyMu before attach, then under inbound.mu).
type framer struct {
	hdr    [14]byte // the header being read (2 to 14 bytes)
	nhdr   uint8
	inMsg  bool   // a fragmented data message is in progress
	failed bool   // a bad frame was seen: nothing more is parsed
	remain uint64 // payload bytes of the current frame still to come
	msg    int    // payload bytes of the data message so far
}

// scan checks the frame headers in p and returns how many leading bytes of p may go to the
// parser, and the close reason for the first bad frame (nil if none). After a bad frame it
// returns 0 for everything.
func (f *framer) scan(p []byte, l *Limits) (int, *closeReason) {
	if f.failed {
		return 0, nil
	}
	i := 0
	for i < len(p) {
		if f.remain > 0 {
			k := uint64(len(p) - i)
			if k > f.remain {
				k = f.remain
			}
			i += int(k)
			f.remain -= k
			continue
		}
		start := i - int(f.nhdr) // where this frame began (negative: in an earlier read)
		for f.nhdr < 2 && i < len(p) {
			f.hdr[f.nhdr] = p[i]
			f.nhdr++
			i++
		}
		if f.nhdr < 2 {
			break
		}
		need := headerLen(f.hdr[1])
		for int(f.nhdr) < need && i < len(p) {
			f.hdr[f.nhdr] = p[i]
			f.nhdr++
			i++
		}
		if int(f.nhdr) < need {
			break
		}
		f.nhdr = 0
		if r := f.check(l); r != nil {
			f.failed = true
			return max(start, 0), r
		}
	}
	return len(p), nil
}

// headerLen is the length of a client frame header given its second byte: 2, plus 2 or 8 for
// an extended length, plus 4 for the mask (always counted: check refuses unmasked frames).
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

// check validates the complete header in f.hdr and sets up the payload to skip.
func (f *framer) check(l *Limits) *closeReason {
	b0, b1 := f.hdr[0], f.hdr[1]
	fin, op := b0&0x80 != 0, b0&0x0F
	var n uint64
	switch b1 & 0x7F {
	case 126:
		n = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
	case 127:
		n = binary.BigEndian.Uint64(f.hdr[2:10])
	default:
		n = uint64(b1 & 0x7F)
	}
	var r closeReason
	switch {
	case b0&0x70 != 0:
		r = protocolError("Reserved bits set with no extension negotiated")
	case op > 2 && op < 8 || op > 10:
		r = protocolError("Reserved opcode " + strconv.Itoa(int(op)))
	case b1&0x80 == 0:
		r = protocolError("Client frames must be masked")
	case n>>63 != 0:
		r = protocolError("Invalid frame length")
	case op >= 8 && n > 125:
		r = protocolError("Control frame longer than 125 bytes")
	case op >= 8 && !fin:
		r = protocolError("Fragmented control frame")
	case op == 8 && n == 1:
		r = protocolError("Close frame with a 1-byte payload")
	case op == 0 && !f.inMsg:
		r = protocolError("Continuation frame with no message to continue")
	case (op == 1 || op == 2) && f.inMsg:
		r = protocolError("New data frame inside a fragmented message")
	case op < 8 && l.FrameBytes > 0 && l.FrameBytes < l.MessageBytes && n > uint64(l.FrameBytes):
		r = reasonFrameBig
	case op < 8 && l.MessageBytes > 0 && uint64(f.msg)+n > uint64(l.MessageBytes):
		r = reasonTooBig
	default:
		if op < 8 {
			f.msg += int(n)
			f.inMsg = !fin
			if fin {
				f.msg = 0
			}
		}
		f.remain = n
		return nil
	}
	return &r
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
	var n int
	var fail *closeReason
	c := g.sessionOrEarly(ws, func(e *earlyEvents) { n, fail = e.f.scan(data, &g.o.Limits) })
	if c == nil {
		parse(nc, data[:n])
		if fail != nil {
			g.closeEarly(ws, *fail)
		}
		return
	}
	in := &c.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.paused.Load() && !in.f.failed {
		if limit := g.o.Limits.InboundQueueBytes; len(in.held)+len(data) > limit {
			in.f.failed = true
			in.held = nil
			c.close(reasonFlood)
			return
		}
		in.held = append(in.held, data...)
		return
	}
	c.feed(nc, data)
}

// feed scans data and parses what may be parsed. Caller holds c.in.mu.
func (c *Conn) feed(nc *nbio.Conn, data []byte) {
	n, fail := c.in.f.scan(data, &c.g.o.Limits)
	parse(nc, data[:n])
	if fail != nil {
		c.close(*fail)
	}
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

// pause makes the connection hold what it reads, unparsed, until resume. Safe from any
// goroutine; it takes no lock (it runs from message handlers nbio may call while parsing).
func (in *inbound) pause(c *Conn) {
	if in.paused.CompareAndSwap(false, true) {
		in.stalled.Store(time.Now().UnixNano())
		c.g.metrics.InboundPaused.Inc()
	}
}

// resume parses what was held during a pause and reads on.
func (in *inbound) resume(c *Conn) {
	if !in.paused.Load() {
		return
	}
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	nc, _ := ws.Conn.(*nbio.Conn)
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.paused.CompareAndSwap(true, false) {
		return
	}
	in.stalled.Store(0)
	held := in.held
	in.held = nil
	if nc != nil && len(held) > 0 {
		c.feed(nc, held)
	}
}

// stalledSince is how long the connection has been paused at now (unix nanos); 0 if it is not.
func (in *inbound) stalledSince(now int64) time.Duration {
	if at := in.stalled.Load(); at != 0 {
		return time.Duration(now - at)
	}
	return 0
}
