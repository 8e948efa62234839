package gateway

import (
	"bufio"
	"errors"
	"github.com/wsgate/wsgate/internal/handshake"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// wss:// sockets are served by Go's TLS server, so nbio cannot take them onto its event loop:
// after the upgrade nbio reads each one on a goroutine of its own (its blocking mode), straight
// from the *tls.Conn, and the engine's OnData hook (onData) never sees their bytes. readGuard
// sits between that goroutine and the TLS connection and does for the decrypted bytes what
// onData does for a plain socket's:
//
//   - every frame header goes through the same framer, and the connection is failed with the
//     same close frame at the first bad one, after the frames before it were parsed and with
//     nothing after it parsed;
//   - while the connection's inbound queue is over limits.inboundQueueBytes it stops reading
//     (the goroutine waits, so the client meets TCP back-pressure: nothing is held in memory),
//     until the queue has drained to half, the connection closes, or the sweeper closes it
//     after limits.inboundStallTimeout.
//
// The hijacked socket also gets the kernel send buffer (limits.socketSendBufferBytes).

// hijackGuard is the ResponseWriter the upgrader hijacks through: it hands out the socket
// itself, not the handshake recorder over it (handshake.Hijack), and a connection nbio cannot
// move onto its event loop (anything but a *net.TCPConn: a *tls.Conn) comes back under a
// readGuard.
type hijackGuard struct {
	http.ResponseWriter
	c *Conn
}

func (h hijackGuard) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, rw, err := handshake.Hijack(h.ResponseWriter)
	if err != nil {
		return nc, rw, err
	}
	if _, plain := nc.(*net.TCPConn); plain {
		return nc, rw, nil // nbio moves it onto its event loop: onData guards it
	}
	return h.c.guardBlocking(nc), rw, nil
}

// guardBlocking is a socket served by a goroutine (TLS) under its readGuard, with the send
// buffer the listener did not give it.
//
//go:noinline
func (c *Conn) guardBlocking(nc net.Conn) net.Conn {
	if size := c.shape.g.o.Limits.SocketSendBuffer; size > 0 && !c.shape.g.o.SendBufferInherited {
		if tc, ok := tcpUnder(nc).(interface{ SetWriteBuffer(int) error }); ok {
			_ = tc.SetWriteBuffer(size)
		}
	}
	return &readGuard{Conn: nc, c: c}
}

// Flush passes through so that wrapping does not hide http.Flusher.
func (h hijackGuard) Flush() {
	if f, ok := h.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// tcpUnder is the connection under a TLS layer (or nc itself).
func tcpUnder(nc net.Conn) net.Conn {
	if t, ok := nc.(interface{ NetConn() net.Conn }); ok {
		return t.NetConn()
	}
	return nc
}

// readGuard is a blocking-mode socket as its reader goroutine sees it. Only that goroutine
// calls Read; the framer and fail are its own.
type readGuard struct {
	net.Conn
	c      *Conn
	f      framer
	fail   *closeReason // a bad frame seen: the close to carry out on the next Read
	failed bool         // closed for a bad frame: what arrives is read and dropped
	// queued is the bytes of frames handed to nbio's send queue and not yet written to the
	// TLS connection (Conn.write adds, Write subtracts), so that limits.sendQueueBytes bounds
	// a wss:// socket in bytes, as nbio's write buffer does a ws:// one.
	queued atomic.Int64
}

// Write is how nbio's writer goroutine sends each queued frame (one call per frame, header and
// payload together): it counts the frame out of queued. Frames queued without being counted
// (a pong, the close frame) would take it below zero; it stops at zero.
func (r *readGuard) Write(p []byte) (int, error) {
	n, err := r.Conn.Write(p)
	if v := r.queued.Add(-int64(n)); v < 0 {
		r.queued.CompareAndSwap(v, 0)
	}
	return n, err
}

// admit counts a message of n payload bytes into the send queue, framed by at most maxFrame
// bytes a frame, and reports whether it fits within limit bytes. An empty queue takes any one
// message (it may be larger than limit); limit 0 takes everything.
func (r *readGuard) admit(n, maxFrame, limit int) bool {
	cost := int64(wireBytes(n, maxFrame))
	if q := r.queued.Load(); limit > 0 && q > 0 && q+cost > int64(limit) {
		return false
	}
	r.queued.Add(cost)
	return true
}

// wireBytes is what a server's (unmasked) message of n payload bytes takes on the wire when
// nbio splits it into frames of at most maxFrame bytes: each frame's payload and its 2, 4 or
// 10 byte header (RFC 6455 §5.2).
func wireBytes(n, maxFrame int) int {
	header := func(size int) int {
		switch {
		case size < 126:
			return 2
		case size <= 65535:
			return 4
		}
		return 10
	}
	if n == 0 {
		return header(0)
	}
	full, rest := n/maxFrame, n%maxFrame
	total := n + full*header(maxFrame)
	if rest > 0 {
		total += header(rest)
	}
	return total
}

// stallPoll is how often a paused reader looks whether its queue has drained.
const stallPoll = 5 * time.Millisecond

// NetConn returns the TCP connection under the TLS layer, which shut closes for a close
// without a close frame.
func (r *readGuard) NetConn() net.Conn { return tcpUnder(r.Conn) }

// Read returns what may be parsed of what the client sent: nothing of a bad frame or after it,
// a header split across reads only once it is whole.
func (r *readGuard) Read(p []byte) (int, error) {
	c := r.c
	for {
		if r.fail != nil {
			// The frames before the bad one were parsed (the caller parses what one Read
			// returns before it reads again): now fail the connection.
			fail := *r.fail
			r.fail, r.failed = nil, true
			c.close(fail)
		}
		if r.failed {
			// Nothing more is parsed. Read on until the peer's close (or the close
			// handshake's read deadline) ends the socket.
			if _, err := r.Conn.Read(p); err != nil {
				return 0, err
			}
			continue
		}
		r.waitWhilePaused()
		// Room for a held header (at most 14 bytes) in front of what is read now.
		room := len(p) - len(r.f.hdr)
		if room <= 0 {
			return 0, errors.New("gateway: read buffer too small")
		}
		n, err := r.Conn.Read(p[:room])
		if n == 0 {
			return 0, err
		}
		sc := r.f.scan(p[:n], &c.shape.g.o.Limits)
		out := sc.n
		if sc.npre > 0 {
			copy(p[sc.npre:], p[:sc.n])
			copy(p, sc.pre[:sc.npre])
			out += sc.npre
		}
		if sc.fail != nil {
			r.fail = sc.fail
			if out == 0 {
				continue // nothing to parse first: fail at once
			}
			return out, nil
		}
		if out > 0 || err != nil {
			return out, err
		}
		// Only part of a header arrived: it is held, read on.
	}
}

// waitWhilePaused blocks while the connection's inbound queue is over its budget (pause), until
// it has drained to half (resume) or the connection is past open: a close frame must still be
// read, and nothing read then is routed.
func (r *readGuard) waitWhilePaused() {
	in := &r.c.in
	for in.paused.Load() != nil && !r.c.ending() {
		time.Sleep(stallPoll)
	}
}
