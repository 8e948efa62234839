// Package keepalive serves HTTP/1.1 connections without net/http's server: the rest of a
// keep-alive connection once net/http has parsed its first management request (Take), and a
// connection whose first request is a WebSocket upgrade that arrived whole at accept, from that
// request on (ServeHead: the gateway's connects skip net/http's serving of a connection).
// Responses to pipelined requests are flushed together: one write(2) for every request that
// arrived in one read, where net/http writes (and starts a background read for) each response
// on its own. Requests are parsed with http.ReadRequest and answered by the same handler, in
// order, with the same semantics (Content-Length or close-delimited bodies, Date, a sniffed
// Content-Type when the handler sets none, Expect: 100-continue, HEAD, Connection: close,
// Hijack for a WebSocket upgrade that arrives on the connection).
//
// A response is flushed when the connection has no further request buffered: before any read
// that needs more bytes from the socket (so a pipelining client gets every answer of a batch
// in one segment, and a client with one request in flight gets its answer at once), before a
// handler that streams (Flush) or hijacks, and before the connection closes.
package keepalive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/ascii"
)

// Server takes connections over from net/http (Take) and serves them with Handler until the
// client closes them or Close is called.
type Server struct {
	// Handler answers every request of a taken connection (the listener's root handler, so a
	// taken connection is served as net/http would have served it).
	Handler http.Handler
	// MaxBody is the largest first-request body Take reads before it takes the connection; a
	// larger or chunked first request is left to net/http. Default 1 MiB.
	MaxBody int64
	// MaxHeaderBytes bounds a request head (request line and headers); more gets 431 and the
	// connection is closed. Default http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds reading a request's head once its first byte has arrived (an
	// idle connection waits without a deadline, as net/http's server does with no
	// IdleTimeout). Default 10 s.
	ReadHeaderTimeout time.Duration

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
}

// ErrClosed is what Take's connections end with after Close.
var ErrClosed = errors.New("keepalive: server closed")

// maxDrain is how much of a request body the handler left unread is read and dropped to keep
// the connection; past it the connection is closed (net/http's bound is the same).
const maxDrain = 256 << 10

// Take answers r on w's connection and then serves that connection's next requests itself,
// returning when the connection ends. It returns false at once, having written nothing, when
// it does not take the connection (not HTTP/1.1, Connection: close, a chunked or larger than
// MaxBody first body, a ResponseWriter that cannot hijack, or a closed Server): the caller
// then serves r as usual.
func (s *Server) Take(w http.ResponseWriter, r *http.Request) bool {
	maxBody := s.MaxBody
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	if _, taken := w.(*response); taken {
		return false // already ours: the loop serves it
	}
	hj, ok := w.(http.Hijacker)
	if !ok || r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Close || r.ContentLength < 0 || r.ContentLength > maxBody {
		return false
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return false
	}
	// The first body is read before the hijack, through net/http (which answers an Expect:
	// 100-continue for it).
	var body []byte
	if r.ContentLength > 0 {
		body = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			// The client went away mid-body: nothing to answer.
			return true
		}
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return false
	}
	c := s.newConn(nc, r.RemoteAddr, r.TLS, r.Context())
	if n := brw.Reader.Buffered(); n > 0 {
		c.in.left, _ = brw.Reader.Peek(n)
		c.in.left = bytes.Clone(c.in.left)
	}
	if !s.add(c) {
		_ = nc.Close()
		return true
	}
	defer s.remove(c)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		r.Body = http.NoBody
	}
	c.serve(r)
	return true
}

// ServeHead serves a connection from its first request on: head is that request's head
// (request line, header lines and the empty line), already read from nc, with no body (the
// caller checked: no Content-Length, no Transfer-Encoding). ctx is the request's context.
// The request is answered by Handler as net/http would answer it, and the connection's next
// requests as Take's. A head http.ReadRequest refuses is answered 400 and the connection
// closed, as net/http does.
func (s *Server) ServeHead(nc net.Conn, ctx context.Context, head []byte) {
	c := s.newConn(nc, nc.RemoteAddr().String(), nil, ctx)
	if !s.add(c) {
		_ = nc.Close()
		return
	}
	defer s.remove(c)
	hr := headReaders.Get().(*headReader)
	hr.b.Reset(head)
	hr.br.Reset(&hr.b)
	r, err := http.ReadRequest(&hr.br)
	hr.b.Reset(nil)
	headReaders.Put(hr)
	if err != nil {
		c.fail(http.StatusBadRequest)
		c.close()
		return
	}
	r.RemoteAddr = c.remote
	c.strict = true
	c.serve(r.WithContext(ctx))
}

// headReader parses a head that is already in memory (ServeHead).
type headReader struct {
	b  bytes.Reader
	br bufio.Reader
}

var headReaders = sync.Pool{New: func() any {
	hr := &headReader{}
	hr.br = *bufio.NewReaderSize(&hr.b, 4096)
	return hr
}}

func (s *Server) newConn(nc net.Conn, remote string, tls *tls.ConnectionState, base context.Context) *conn {
	c := &conn{s: s, nc: nc, remote: remote, tls: tls, base: base}
	c.in.c = c
	c.w.c = c
	c.w.h = http.Header{}
	return c
}

// Close stops taking connections, closes the idle ones at once and the others after the
// response they are working on.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		if c.idle.Load() {
			_ = c.nc.Close()
		}
	}
}

func (s *Server) add(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) remove(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return http.DefaultMaxHeaderBytes
}

// conn is one taken connection.
type conn struct {
	s      *Server
	nc     net.Conn
	remote string
	tls    *tls.ConnectionState
	base   context.Context // the first request's: what the listener's ConnContext put there
	in     input
	br     *bufio.Reader // see reader
	bw     *bufio.Writer // see writer
	w      response
	drain  io.LimitedReader
	idle   atomic.Bool // waiting for a request: Close may close it at once
	broken bool        // hijacked or close-delimited: no further request on it
	// strict: the connection came through ServeHead, so net/http's server has read none of
	// its requests, and next refuses what that server refuses after its parser (refusal, an
	// unknown Expect, "OPTIONS *"). A taken connection (Take) skips these checks: its later
	// requests are answered as before, on the push path.
	strict bool
}

// reader is the connection's read buffer, made when first needed: a connection whose one
// request was an upgrade never needs one (ServeHead).
func (c *conn) reader() *bufio.Reader {
	if c.br == nil {
		c.br = bufio.NewReaderSize(&c.in, c.s.maxHeaderBytes()+4096)
	}
	return c.br
}

// writer is the connection's write buffer, made when first needed (see reader).
func (c *conn) writer() *bufio.Writer {
	if c.bw == nil {
		c.bw = bufio.NewWriterSize(c.nc, 16<<10)
	}
	return c.bw
}

// input is what br reads: the bytes net/http had buffered, then the socket. It flushes the
// pending answers before each read from the socket, that is, as soon as no further request is
// buffered.
type input struct {
	c    *conn
	left []byte
}

func (in *input) Read(p []byte) (int, error) {
	if len(in.left) > 0 {
		n := copy(p, in.left)
		in.left = in.left[n:]
		return n, nil
	}
	if bw := in.c.bw; bw != nil && bw.Buffered() > 0 {
		if err := bw.Flush(); err != nil {
			return 0, err
		}
	}
	return in.c.nc.Read(p)
}

// serve answers r, then every request after it, until the connection ends.
func (c *conn) serve(r *http.Request) {
	defer func() {
		if !c.w.hijacked { // a hijacker owns the connection now
			c.close()
		}
	}()
	for {
		if !c.answer(r) || c.s.isClosed() {
			return
		}
		var err error
		if r, err = c.next(); err != nil {
			return
		}
	}
}

// next reads the next request. A head over MaxHeaderBytes gets 431, a malformed one 400; both
// end the connection, as with net/http.
func (c *conn) next() (*http.Request, error) {
	c.idle.Store(true)
	br := c.reader()
	_, err := br.Peek(1) // waits for the request's first byte with no deadline
	c.idle.Store(false)
	if err != nil {
		return nil, err
	}
	if c.s.isClosed() {
		return nil, ErrClosed
	}
	if !c.headBuffered() {
		// The head is not all here yet: bound the time and the size of the rest.
		_ = c.nc.SetReadDeadline(time.Now().Add(c.readHeaderTimeout()))
		for !c.headBuffered() {
			if br.Buffered() >= c.s.maxHeaderBytes() {
				c.fail(http.StatusRequestHeaderFieldsTooLarge)
				return nil, errors.New("request head too large")
			}
			if _, err := br.Peek(br.Buffered() + 1); err != nil {
				return nil, err
			}
		}
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	var hosts hostLines
	if c.strict {
		b, _ := br.Peek(br.Buffered())
		hosts = hostsOf(b) // before ReadRequest, which may move the buffered bytes
	}
	r, err := http.ReadRequest(br)
	if err != nil {
		if strings.HasPrefix(err.Error(), "unsupported transfer encoding") {
			c.failWith(http.StatusNotImplemented, "Unsupported transfer encoding") // net/http's answer
		} else {
			c.fail(http.StatusBadRequest)
		}
		return nil, err
	}
	if c.strict {
		if status, why := refusal(r, hosts); status != 0 {
			text := strconv.Itoa(status) + " " + http.StatusText(status) + ": " + why
			c.failWith(status, text)
			return nil, errors.New(text)
		}
	}
	r.RemoteAddr, r.TLS = c.remote, c.tls
	return r, nil
}

// hostLines is what a request head's Host lines are to net/http's server: how many, and
// whether the value of the (one) line is well-formed.
type hostLines struct {
	n     int
	valid bool
}

// hostsOf reads the Host lines of the request head at the start of b (a head whose end is
// in b: see next).
func hostsOf(b []byte) (h hostLines) {
	_, b, _ = bytes.Cut(b, []byte("\n")) // the request line
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && ascii.EqualFold(name, "host") {
			h.n++
			h.valid = validHost(string(bytes.Trim(value, " \t")))
		}
	}
	return h
}

// refusal is what net/http's server answers, before any handler, to a request its parser
// (http.ReadRequest) took: 505 to a protocol other than HTTP/1.x, 400 to an HTTP/1.1 request
// without a Host line, a malformed Host value, or a field name that is not an RFC 9110 token.
// status is 0 for a request it serves. (net/http's server.go, readRequest.)
func refusal(r *http.Request, hosts hostLines) (status int, why string) {
	if r.ProtoMajor != 1 {
		return http.StatusHTTPVersionNotSupported, "unsupported protocol version"
	}
	if r.ProtoAtLeast(1, 1) && hosts.n == 0 && r.Method != http.MethodConnect {
		return http.StatusBadRequest, "missing required Host header"
	}
	if hosts.n == 1 && !hosts.valid {
		return http.StatusBadRequest, "malformed Host header"
	}
	for k := range r.Header {
		if !ascii.IsToken(k) {
			return http.StatusBadRequest, "invalid header name"
		}
	}
	return 0, ""
}

// validHost reports whether every byte of a Host value is one net/http's server accepts:
// letters, digits and "!$%&'()*+,-.:;=[]_~" (RFC 3986's host and port characters).
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// close flushes what is queued and closes the connection. Our side is shut down first and
// what the client still sends is read and dropped for a moment (as net/http's server does): a
// close with unread input makes the kernel reset the connection, and the client could lose
// the answers just sent.
func (c *conn) close() {
	if c.bw != nil {
		_ = c.bw.Flush()
	}
	nc := c.nc
	for {
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		nc = u.NetConn()
	}
	if cw, ok := nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, _ = io.CopyN(io.Discard, c.nc, maxDrain)
	}
	_ = c.nc.Close()
}

func (c *conn) readHeaderTimeout() time.Duration {
	if c.s.ReadHeaderTimeout > 0 {
		return c.s.ReadHeaderTimeout
	}
	return 10 * time.Second
}

// headBuffered reports whether a whole request head (up to its blank line) is in br, within
// MaxHeaderBytes.
func (c *conn) headBuffered() bool {
	b, _ := c.br.Peek(min(c.br.Buffered(), c.s.maxHeaderBytes())) // c.br: made by next
	return bytes.Contains(b, []byte("\r\n\r\n")) || bytes.Contains(b, []byte("\n\n"))
}

// fail answers a request that could not be read, and the connection closes.
func (c *conn) fail(status int) {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	c.failWith(status, text)
}

// failWith is fail with body as the answer's body and, when it starts with the status, its
// status line (net/http's "400 Bad Request: missing required Host header").
func (c *conn) failWith(status int, body string) {
	line := strconv.Itoa(status) + " " + http.StatusText(status)
	if strings.HasPrefix(body, line) {
		line = body
	}
	_, _ = c.writer().WriteString("HTTP/1.1 " + line + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + body)
}

// answer runs the handler for r and queues its response. It reports whether the connection
// may carry another request.
func (c *conn) answer(r *http.Request) bool {
	if isUpgrade(r) {
		// The gateway's upgrade finds the connection's recording through the context.
		r = r.WithContext(c.base)
	}
	if r.ContentLength > 0 && headerHas(r.Header, "Expect", "100-continue") {
		bw := c.writer()
		_, _ = bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := bw.Flush(); err != nil {
			return false
		}
	}
	w := &c.w
	w.reset(r)
	switch {
	case c.strict && r.Header.Get("Expect") != "" && !headerHas(r.Header, "Expect", "100-continue"):
		// net/http's server answers an expectation it does not know itself, and closes.
		w.h.Set("Connection", "close")
		w.WriteHeader(http.StatusExpectationFailed)
	case c.strict && r.Method == http.MethodOptions && r.RequestURI == "*":
		w.h.Set("Content-Length", "0") // net/http's server answers "OPTIONS *" itself
	default:
		c.s.Handler.ServeHTTP(w, r)
	}
	if w.hijacked {
		c.broken = true
		return false
	}
	w.finish()
	if w.streamed || r.Close || w.closeAfter {
		c.broken = true
		return false
	}
	// Whatever the handler left of the body is read and dropped, up to maxDrain.
	if r.Body != nil && r.Body != http.NoBody {
		c.drain = io.LimitedReader{R: r.Body, N: maxDrain + 1} // a field: no allocation per request
		n, err := io.Copy(io.Discard, &c.drain)
		if n > maxDrain || err != nil {
			c.broken = true
			return false
		}
	}
	return true
}

// isUpgrade reports whether r asks for a protocol upgrade (a WebSocket handshake).
func isUpgrade(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade")
}

// headerHas reports whether a comma-separated header has token (ASCII case-insensitive).
func headerHas(h http.Header, key, token string) bool {
	for _, v := range h[key] {
		for len(v) > 0 {
			var t string
			if i := strings.IndexByte(v, ','); i >= 0 {
				t, v = v[:i], v[i+1:]
			} else {
				t, v = v, ""
			}
			if ascii.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}
