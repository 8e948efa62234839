package handshake

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// DefaultMaxBytes bounds what a Conn records when NewListener is given no bound: net/http's
// own default header limit (http.DefaultMaxHeaderBytes) plus the 4 KB it reads beyond it.
const DefaultMaxBytes = http.DefaultMaxHeaderBytes + 4096

// ErrTooLarge is what Of reports for a head longer than the listener's bound: answer 431.
var ErrTooLarge = errors.New("handshake: request head over the size limit")

// NewListener wraps l so that each accepted connection records the head of its first request,
// up to maxBytes (request line included; <= 0 means DefaultMaxBytes). Recording stops at the
// end of the head, so a connection costs nothing more once its first request is read. The
// wrapper is a plain net.Conn: put it outside any layer that changes the bytes (after TLS).
func NewListener(l net.Listener, maxBytes int) net.Listener {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &listener{Listener: l, max: maxBytes}
}

type listener struct {
	net.Listener
	max int
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if t, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok && t.ConnectionState().NegotiatedProtocol == "h2" {
		// HTTP/2 (ALPN done by a TLS listener underneath): net/http must see the *tls.Conn to
		// speak it, and no WebSocket upgrade happens on it.
		return c, nil
	}
	return &Conn{Conn: c, max: l.max}, nil
}

// Conn records the head of the first request read through it. Read may run on net/http's
// background reader while a handler calls Head: the recording is guarded by mu, and done is
// set once (under mu) when the head is complete or over the bound.
type Conn struct {
	net.Conn
	max int

	done atomic.Bool
	mu   sync.Mutex
	buf  []byte // the bytes read so far, until done
	scan int    // where endOfHead resumes
	head []byte // the complete head once done; nil if over the bound or never complete
	over bool
	used bool // Of handed the head out already
}

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.done.Load() {
		c.record(p[:n])
	}
	return n, err
}

func (c *Conn) record(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done.Load() {
		return
	}
	room := c.max - len(c.buf)
	take := p
	if len(take) > room {
		take = take[:room]
	}
	c.buf = append(c.buf, take...)
	end, resume := endOfHead(c.buf, c.scan)
	c.scan = resume
	switch {
	case end >= 0:
		c.head = c.buf[:end:end]
		c.buf = nil
		c.done.Store(true)
	case len(c.buf) >= c.max:
		c.over = true
		c.buf = nil
		c.done.Store(true)
	}
}

// NetConn returns the connection underneath.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// TLS returns the TLS state of the connection underneath, or nil for plain text. net/http
// fills Request.TLS only for a *tls.Conn it sees itself; behind this wrapper it does not.
func (c *Conn) TLS() *tls.ConnectionState {
	if t, ok := c.Conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
		s := t.ConnectionState()
		return &s
	}
	return nil
}

type ctxKey struct{}

// ConnContext is for http.Server.ConnContext: it makes the connection's recording reachable
// from its requests.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, ctxKey{}, hc)
	}
	return ctx
}

// FromContext returns the recording connection of a request, or nil.
func FromContext(ctx context.Context) *Conn {
	c, _ := ctx.Value(ctxKey{}).(*Conn)
	return c
}

// Of returns the head of r as the client sent it. ok is false when there is no recording for
// r: the server was not set up with NewListener and ConnContext, r is not the first request on
// its connection (the head is handed out once, and its request line must match r), or the head
// did not parse the way net/http parsed it; the caller then falls back to r.Header. err is
// ErrTooLarge when the head went past the listener's bound.
func Of(r *http.Request) (h Head, ok bool, err error) {
	c := FromContext(r.Context())
	if c == nil || !c.done.Load() {
		return Head{}, false, nil
	}
	c.mu.Lock()
	raw, over, used := c.head, c.over, c.used
	c.used, c.head = true, nil // handed out once; the connection keeps no copy
	c.mu.Unlock()
	if over {
		return Head{}, false, ErrTooLarge
	}
	if used || raw == nil {
		return Head{}, false, nil
	}
	h, perr := Parse(raw)
	if perr != nil || h.Method != r.Method || h.Target != r.RequestURI {
		return Head{}, false, nil
	}
	return h, true, nil
}

// Unwrap returns w with a Hijack that hands out the connection under a *Conn, so that a
// WebSocket library sees the *net.TCPConn (or *tls.Conn) it knows how to move onto its event
// loop. w must implement http.Hijacker for Hijack to succeed.
func Unwrap(w http.ResponseWriter) http.ResponseWriter {
	return unwrapped{w}
}

type unwrapped struct {
	http.ResponseWriter
}

func (u unwrapped) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := u.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, rw, err := h.Hijack()
	if hc, ok := c.(*Conn); ok && err == nil {
		return hc.Conn, rw, nil
	}
	return c, rw, err
}

// Flush passes through so that wrapping does not hide http.Flusher.
func (u unwrapped) Flush() {
	if f, ok := u.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
