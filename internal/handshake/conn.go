package handshake

import (
	"bufio"
	"bytes"
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

// NewListener wraps l so that each accepted connection records the head of its WebSocket
// upgrade request, up to maxBytes (request line included; <= 0 means DefaultMaxBytes), also
// when other requests came before it on the same keep-alive connection: the recorder follows
// HTTP/1.1 message framing as net/http does (a Content-Length body, a chunked body with its
// trailer, no body otherwise) so that it knows where each request's head starts and never takes
// bytes of a body for a head. It stops at the first head that asks for a WebSocket upgrade, and
// at anything it cannot frame (which net/http refuses and closes), so a connection costs nothing
// more once upgraded. The wrapper is a plain net.Conn: put it outside any layer that changes the
// bytes (after TLS).
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

// Where the recorder is in the byte stream.
const (
	inHead      = iota // reading a request head into buf
	inBody             // skipping remain bytes of a Content-Length body
	inChunkLine        // reading a chunk-size line into line
	inChunkData        // skipping remain bytes of chunk data
	inChunkEnd         // skipping the CRLF after chunk data (remain bytes of it)
	inTrailer          // skipping trailer lines up to the empty one
)

// maxChunkLine is the longest chunk-size line net/http accepts (its chunked reader's limit).
const maxChunkLine = 4096

// Conn records the head of the WebSocket upgrade request read through it. Read may run on
// net/http's background reader while a handler calls Head: the recording is guarded by mu, and
// done is set once (under mu) when there is nothing more to record.
type Conn struct {
	net.Conn
	max int

	done   atomic.Bool
	mu     sync.Mutex
	state  int
	buf    []byte // the head being read (inHead), reused from one request to the next
	scan   int    // where endOfHead resumes
	remain int64  // bytes to skip (inBody, inChunkData, inChunkEnd)
	line   []byte // the chunk-size line being read (inChunkLine)
	blank  bool   // inTrailer: the current trailer line has no byte yet but "\r"
	head   []byte // the upgrade request's complete head once done; nil if none or handed out
	over   bool   // a head went past max
	used   bool   // Of handed the head out already
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
	for len(p) > 0 && !c.done.Load() {
		switch c.state {
		case inHead:
			p = c.readHead(p)
		case inBody, inChunkData, inChunkEnd:
			k := int64(len(p))
			if k > c.remain {
				k = c.remain
			}
			if c.state == inChunkEnd {
				for j := range k {
					if p[j] != "\r\n"[2-c.remain+j] {
						c.stop() // net/http refuses chunk data not followed by CRLF
						return
					}
				}
			}
			p, c.remain = p[k:], c.remain-k
			if c.remain == 0 {
				switch c.state {
				case inBody:
					c.state = inHead
				case inChunkData:
					c.state, c.remain = inChunkEnd, 2
				case inChunkEnd:
					c.state = inChunkLine
				}
			}
		case inChunkLine:
			p = c.readChunkLine(p)
		case inTrailer:
			p = c.readTrailer(p)
		}
	}
}

// stop ends the recording: the head, if any, stays for Of.
func (c *Conn) stop() {
	c.buf, c.line = nil, nil
	c.done.Store(true)
}

// readHead takes bytes of a request head from p and returns what follows the head in p.
func (c *Conn) readHead(p []byte) []byte {
	had := len(c.buf)
	take := p[:min(len(p), c.max-had)]
	c.buf = append(c.buf, take...)
	end, resume := endOfHead(c.buf, c.scan)
	c.scan = resume
	if end < 0 {
		if len(c.buf) >= c.max {
			c.over = true
			c.stop()
		}
		return nil
	}
	rest := p[end-had:]
	raw := c.buf[:end:end]
	f, ok := framingOf(raw)
	switch {
	case !ok:
		c.stop() // net/http refuses what cannot be framed, and closes the connection
	case f.upgrade:
		c.head = raw
		c.stop()
	default:
		c.buf, c.scan = c.buf[:0], 0
		switch {
		case f.chunked:
			c.state, c.line = inChunkLine, c.line[:0]
		case f.length > 0:
			c.state, c.remain = inBody, f.length
		}
	}
	return rest
}

// readChunkLine takes bytes of a chunk-size line ("1a;ext=x\r\n") and returns what follows it.
func (c *Conn) readChunkLine(p []byte) []byte {
	i := bytes.IndexByte(p, '\n')
	part := p
	if i >= 0 {
		part = p[:i]
	}
	if len(c.line)+len(part) > maxChunkLine {
		c.stop()
		return nil
	}
	c.line = append(c.line, part...)
	if i < 0 {
		return nil
	}
	size, ok := chunkSize(c.line)
	c.line = c.line[:0]
	switch {
	case !ok:
		c.stop()
	case size == 0:
		c.state, c.blank = inTrailer, true
	default:
		c.state, c.remain = inChunkData, size
	}
	return p[i+1:]
}

// readTrailer skips trailer lines up to the empty line that ends the chunked body.
func (c *Conn) readTrailer(p []byte) []byte {
	for i, b := range p {
		switch {
		case b == '\n' && c.blank:
			c.state = inHead
			return p[i+1:]
		case b == '\n':
			c.blank = true
		case b == '\r' && c.blank:
		default:
			c.blank = false
		}
	}
	return nil
}

// Recorded is c with its upgrade request's head already read (head, through its empty line):
// what a Conn that recorded it would hold, for a connection served from head on without a
// recorder (keepalive's ServeHead).
func Recorded(c net.Conn, head []byte) *Conn {
	hc := &Conn{Conn: c, max: len(head), head: head}
	hc.done.Store(true)
	return hc
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
// r: the server was not set up with NewListener and ConnContext, r is not the connection's
// WebSocket upgrade request (the head is handed out once, and its request line must match r),
// or the head did not parse the way net/http parsed it (the same lines, by canonical name, as
// r.Header); the caller then falls back to r.Header. err is ErrTooLarge when the head went past
// the listener's bound.
func Of(r *http.Request) (h Head, ok bool, err error) {
	raw, err := take(r)
	if raw == nil {
		return Head{}, false, err
	}
	h, perr := Parse(raw)
	if perr != nil || h.Method != r.Method || h.Target != r.RequestURI || !sameHeader(h.Fields, r.Header) {
		return Head{}, false, nil
	}
	return h, true, nil
}

// Size is Of for a caller that only checks the header limits: the number of header lines of
// r's head as the client sent it and their size in bytes (Head.Bytes), counted without
// building the head (no allocation). ok and err are as for Of, except that the lines are not
// compared with r.Header: a head handed out here is not handed out again.
func Size(r *http.Request) (fields, size int, ok bool, err error) {
	raw, err := take(r)
	if raw == nil {
		return 0, 0, false, err
	}
	fields, size, perr := Count(raw)
	if perr != nil {
		return 0, 0, false, nil
	}
	return fields, size, true, nil
}

// take hands out r's head as recorded on its connection: once, to the request it belongs to
// (pipelined requests before it may ask first), after which the connection keeps no copy. nil
// when there is none for r; err is ErrTooLarge when the head went past the listener's bound.
func take(r *http.Request) ([]byte, error) {
	c := FromContext(r.Context())
	if c == nil || !c.done.Load() {
		return nil, nil
	}
	c.mu.Lock()
	raw, over, used := c.head, c.over, c.used
	mine := raw != nil && isRequestLine(raw, r.Method, r.RequestURI)
	if mine {
		c.used, c.head = true, nil
	}
	c.mu.Unlock()
	if over {
		return nil, ErrTooLarge
	}
	if used || !mine {
		return nil, nil
	}
	return raw, nil
}

// isRequestLine reports whether head starts with the request line "method target ".
func isRequestLine(head []byte, method, target string) bool {
	n := len(method) + 1 + len(target) + 1
	return len(head) > n && string(head[:len(method)]) == method && head[len(method)] == ' ' &&
		string(head[len(method)+1:n-1]) == target && head[n-1] == ' '
}

// sameHeader reports whether fields hold exactly the values of hdr, name by canonical name, in
// order, as net/http parsed them; Host, Content-Length and Transfer-Encoding, which net/http
// moves out of the header, are not compared.
func sameHeader(fields []Field, hdr http.Header) bool {
	seen := make(map[string]int, len(hdr))
	n := 0
	for _, f := range fields {
		name := http.CanonicalHeaderKey(f.Name)
		switch name {
		case "Host", "Content-Length", "Transfer-Encoding":
			continue
		}
		k := seen[name]
		if vs := hdr[name]; k >= len(vs) || vs[k] != f.Value {
			return false
		}
		seen[name] = k + 1
		n++
	}
	for name, vs := range hdr {
		switch name {
		case "Host", "Content-Length", "Transfer-Encoding":
			continue
		}
		n -= len(vs)
	}
	return n == 0
}

// Hijack is w's Hijack, handing out the connection under a *Conn, so that a WebSocket library
// sees the *net.TCPConn (or *tls.Conn) it knows how to move onto its event loop.
// http.ErrNotSupported if w is not an http.Hijacker.
func Hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, rw, err := h.Hijack()
	if hc, ok := c.(*Conn); ok && err == nil {
		return hc.Conn, rw, nil
	}
	return c, rw, err
}
