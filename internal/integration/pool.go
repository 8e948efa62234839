package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// Pool carries HTTP/1.1 calls to plain http:// backends over kept-alive connections, each call
// made start to end on the caller's goroutine: the request is written and the answer read on
// the same goroutine, where net/http's Transport hands every request to a write goroutine and
// takes the answer from a read goroutine (three hand-offs per call: with them, over half of
// the gateway's CPU per message in the echo benchmark; docs/benchmarks.md).
//
// The answer is parsed by net/http's own http.ReadResponse, so status lines, chunked and
// close-delimited bodies, 1xx interim answers and "Connection: close" mean what they mean to
// net/http. What differs from an http.Client: no redirects are followed (a 3xx is the answer,
// as any status is), no Accept-Encoding: gzip is added (so no body arrives compressed), and
// no proxy: a target that http.ProxyFromEnvironment sends through a proxy, and every https://
// target, keeps using the http.Client.
//
// Connections: at most MaxIdlePerHost kept idle per host (the rest are closed after their
// call), none reused after IdleTimeout idle, and each checked before reuse with a peek that
// does not block, so one the backend closed while idle (Node's 5 s keepAliveTimeout) is
// dropped rather than failing a message. A call whose request could not be written on a
// reused connection is sent again once on a new one; once a request is written it is never
// sent twice (it is a POST). Safe for concurrent use.
type Pool struct {
	// MaxIdlePerHost bounds the idle connections kept per host:port (256 by default).
	MaxIdlePerHost int
	// IdleTimeout: a connection idle longer is closed instead of reused (90 s by default).
	IdleTimeout time.Duration

	dialer net.Dialer
	mu     sync.Mutex
	idle   map[string][]*poolConn // host:port -> idle connections, most recently used last
}

// NewPool returns a pool with the defaults: 256 idle connections per host, 90 s idle timeout,
// 10 s dial timeout, TCP keep-alive every 30 s.
func NewPool() *Pool {
	return &Pool{
		MaxIdlePerHost: 256,
		IdleTimeout:    90 * time.Second,
		dialer:         net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		idle:           map[string][]*poolConn{},
	}
}

// CloseIdle closes the connections not in use.
func (p *Pool) CloseIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = map[string][]*poolConn{}
	p.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			_ = c.nc.Close()
		}
	}
}

// poolConn is one kept-alive connection with its buffers (4 KiB each way).
type poolConn struct {
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	peek   *peeker
	idleAt time.Time
	reused bool
	// deadline: a call's deadline was set on nc and is still there (a call that ends by its
	// own deadline rather than its context's leaves it; the next call sets its own or clears it).
	deadline bool
}

// field is one request header line.
type field struct{ name, value string }

// fields are a request's header lines in the order they are sent. Names are canonical.
type fields []field

// set replaces every line named name with one.
func (f *fields) set(name, value string) {
	f.del(name)
	*f = append(*f, field{name, value})
}

func (f *fields) add(name, value string) { *f = append(*f, field{name, value}) }

func (f *fields) del(name string) {
	s := (*f)[:0]
	for _, l := range *f {
		if l.name != name {
			s = append(s, l)
		}
	}
	*f = s
}

// get returns the first value of name, or "".
func (f fields) get(name string) string {
	for _, l := range f {
		if l.name == name {
			return l.value
		}
	}
	return ""
}

// header is f as an http.Header, for the http.Client path.
func (f fields) header() http.Header {
	h := make(http.Header, len(f))
	for _, l := range f {
		h[l.name] = append(h[l.name], l.value)
	}
	return h
}

// call is one request for Pool.do.
type call struct {
	method     string
	addr       string // host:port to dial
	host       string // Host header
	requestURI string // path?query, as sent on the request line
	header     fields
	body       []byte
}

// errDeadline is what Pool.do sets as a connection's deadline when the call's context is done.
var errDeadline = time.Unix(1, 0)

// do sends c and reads the answer (body read whole, bounded by MaxResponseBytes). Any status is
// an answer; transport failures are errors, and when ctx ends first the error wraps ctx.Err()
// (context.DeadlineExceeded for the integration's timeout).
//
// deadline, when not zero, is the call's end instead of ctx's (which must then never end: its
// Done is nil): it is set on the connection itself, so the call makes no context, timer or
// cancel hook of its own, and running out of it fails with an error wrapping
// context.DeadlineExceeded.
func (p *Pool) do(ctx context.Context, c *call, deadline time.Time) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validFields(c.header); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		pc, err := p.get(ctx, c.addr, deadline)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
			}
			if !deadline.IsZero() && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)) {
				return nil, fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
			}
			return nil, err
		}
		resp, written, err := p.roundTrip(ctx, pc, c, deadline)
		if err == nil {
			return resp, nil
		}
		_ = pc.nc.Close()
		if !deadline.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Done() != nil {
			// Only ctx sets deadlines on the connection, from its deadline or when it is done:
			// it is done, or its timer is about to say so.
			<-ctx.Done()
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if !written && pc.reused && attempt == 0 {
			continue // the backend closed the kept-alive connection before the request left
		}
		return nil, err
	}
}

// roundTrip makes one call on pc. written reports whether the request left in full; on error
// the caller closes pc. On success pc is back in the pool or closed.
func (p *Pool) roundTrip(ctx context.Context, pc *poolConn, c *call, deadline time.Time) (_ *Response, written bool, err error) {
	// Without a deadline of the call's own (get set that one on the connection), the context's
	// end (its deadline, the integration's timeout, or a cancel) is the only deadline the
	// connection gets: it is set when ctx ends, through the context's own timer, so the call
	// arms no timer of its own. A connection whose deadline was set that way is closed, never
	// reused.
	var stop func() bool
	if deadline.IsZero() && ctx.Done() != nil {
		nc := pc.nc
		stop = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(errDeadline) })
	}
	resp, written, err := p.exchange(pc, c)
	if stop != nil && !stop() {
		// The context ended during the call: the connection's deadline is spent.
		if err == nil {
			_ = pc.nc.Close()
		}
		return resp.r, written, err
	}
	if err == nil {
		if resp.close {
			_ = pc.nc.Close()
		} else {
			p.put(c.addr, pc)
		}
	}
	return resp.r, written, err
}

type answer struct {
	r     *Response
	close bool
}

// exchange writes the request and reads the answer.
func (p *Pool) exchange(pc *poolConn, c *call) (answer, bool, error) {
	w := pc.bw
	w.WriteString(c.method)
	w.WriteByte(' ')
	w.WriteString(c.requestURI)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(c.host)
	w.WriteString("\r\n")
	for _, l := range c.header {
		w.WriteString(l.name)
		w.WriteString(": ")
		w.WriteString(l.value)
		w.WriteString("\r\n")
	}
	// As net/http: a length on every request with a body, and a zero length on a POST, PUT or
	// PATCH without one.
	if len(c.body) > 0 || c.method == http.MethodPost || c.method == http.MethodPut || c.method == http.MethodPatch {
		w.WriteString("Content-Length: ")
		var nb [20]byte
		w.Write(strconv.AppendInt(nb[:0], int64(len(c.body)), 10))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(c.body)
	if err := w.Flush(); err != nil {
		w.Reset(pc.nc)
		return answer{}, false, err
	}
	if c.method != http.MethodHead {
		r, ok, err := readPlainAnswer(pc.br)
		if err != nil {
			return answer{}, true, err
		}
		if ok {
			return answer{r: r}, true, nil
		}
	}
	req := &http.Request{Method: c.method}
	var resp *http.Response
	var err error
	for {
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			return answer{}, true, err
		}
		// 1xx answers are interim (100 Continue, 103 Early Hints): the final one follows.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	body, err := readAnswer(resp)
	if err != nil {
		return answer{}, true, err
	}
	return answer{r: &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}, close: resp.Close}, true, nil
}

// readAnswer reads resp's body whole, bounded by MaxResponseBytes, to its end (so the
// connection is ready for the next answer). The body is not closed: that would read on to the
// end of one too large; after an error the caller closes the connection instead.
func readAnswer(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 {
		if n > MaxResponseBytes {
			return nil, fmt.Errorf("response exceeds %d bytes", MaxResponseBytes)
		}
		if n == 0 {
			return []byte{}, nil
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, fmt.Errorf("read response: %w", err)
		}
		return b, nil
	}
	return readBody(resp.Body)
}

// get returns an idle connection to addr that is still open, or a new one, with deadline set
// on it (zero: none).
func (p *Pool) get(ctx context.Context, addr string, deadline time.Time) (*poolConn, error) {
	now := time.Now()
	for {
		p.mu.Lock()
		cs := p.idle[addr]
		if len(cs) == 0 {
			p.mu.Unlock()
			break
		}
		pc := cs[len(cs)-1]
		cs[len(cs)-1] = nil
		p.idle[addr] = cs[:len(cs)-1]
		p.mu.Unlock()
		if now.Sub(pc.idleAt) > p.IdleTimeout || pc.br.Buffered() > 0 {
			_ = pc.nc.Close()
			continue
		}
		// Before the peek: a deadline left by the last call may have passed, and the peek
		// would then fail on it rather than look.
		if !deadline.IsZero() || pc.deadline {
			_ = pc.nc.SetDeadline(deadline)
			pc.deadline = !deadline.IsZero()
		}
		if !pc.peek.stillOpen() {
			_ = pc.nc.Close()
			continue
		}
		pc.reused = true
		return pc, nil
	}
	dctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, deadline) // only when dialing
		defer cancel()
	}
	nc, err := p.dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &poolConn{nc: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096), peek: newPeeker(nc)}
	if !deadline.IsZero() {
		_ = nc.SetDeadline(deadline)
		pc.deadline = true
	}
	return pc, nil
}

// put keeps pc for the next call to addr, or closes it when addr has enough idle.
func (p *Pool) put(addr string, pc *poolConn) {
	pc.idleAt = time.Now()
	p.mu.Lock()
	if cs := p.idle[addr]; len(cs) < p.MaxIdlePerHost {
		p.idle[addr] = append(cs, pc)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = pc.nc.Close()
}

// validFields refuses what net/http refuses in a request header: a name that is not an RFC 9110
// token, a value with a control character other than tab (a CR or LF would end the line).
func validFields(f fields) error {
	for _, l := range f {
		if !validName(l.name) {
			return fmt.Errorf("invalid header field name %q", l.name)
		}
		for i := 0; i < len(l.value); i++ {
			if b := l.value[i]; b < ' ' && b != '\t' || b == 0x7f {
				return fmt.Errorf("invalid header field value for %q", l.name)
			}
		}
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case b > ' ' && b < 0x7f && !isSeparator(b):
		default:
			return false
		}
	}
	return true
}

func isSeparator(b byte) bool {
	switch b {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return true
	}
	return false
}
