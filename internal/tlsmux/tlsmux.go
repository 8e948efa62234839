// Package tlsmux serves TLS and plain text on one listening port. It looks at the first byte
// each client sends: a TLS connection opens with a handshake record, whose content type is 22
// (0x16, RFC 8446 §5.1), while a plain-text HTTP request opens with a method name in ASCII. So
// ws:// and wss://, http:// and https:// all reach the gateway on the same address, and a
// Lambda handler that calls back https://{domainName}/{stage} reaches the port its client came
// in on.
//
// The first byte is peeked, not read (recv with MSG_PEEK), so a plain-text connection is
// handed on as the very *net.TCPConn the kernel accepted: nbio can take it onto its event loop
// after the WebSocket upgrade exactly as before. TLS connections are handed on as *tls.Conn,
// handshake done.
//
// Most clients send their request with the connection's first packets, so it is usually there
// by the time the connection is accepted: Accept peeks without waiting and hands a plain-text
// connection whose first byte is in straight back to its caller (net/http's accept loop), with
// no goroutine or hand-off of its own. Waiting for a first byte that is not there yet, and TLS
// handshakes, happen on a goroutine per connection with a deadline, never in Accept: a client
// that connects and sends nothing holds no accept slot and is closed when its deadline passes.
// Such a connection, once classified, is queued and the inner listener's blocked Accept is
// woken through its deadline to return it.
//
// With Options.Direct, Accept peeks at up to DirectPeekBytes of a plain-text connection's
// first bytes instead of one, and offers them to Direct, which may take the connection (the
// gateway serves a WebSocket upgrade that arrived whole without net/http).
package tlsmux

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/internal/observe"
)

// DefaultTimeout bounds the wait for a client's first byte and then for its TLS handshake
// (net/http's ReadHeaderTimeout in wsgate is the same 10 s).
const DefaultTimeout = 10 * time.Second

// recordTypeHandshake is the first byte of every TLS ClientHello (SSL 3.0 through TLS 1.3).
const recordTypeHandshake = 0x16

// Options configure a Listener.
type Options struct {
	// TLS serves the clients that open with a TLS record. nil: plain text only; such clients
	// are refused with a TLS alert and a log line saying why.
	TLS *tls.Config
	// RequireTLS (with TLS set) refuses plain-text clients: they get
	// "400 Client sent an HTTP request to an HTTPS server" (as net/http answers them) and a log line.
	RequireTLS bool
	// Timeout bounds the wait for the first byte and then the TLS handshake; 0 is DefaultTimeout.
	Timeout time.Duration
	// CAFile, when set, is the file clients must trust; the log line of a handshake the client
	// aborted over the certificate names it.
	CAFile string
	// Logger receives one line per refused or failed connection (nil: slog.Default()).
	Logger *slog.Logger
	// Direct, when set, is offered each plain-text TCP connection whose first bytes are in
	// when Accept takes it, with what has arrived of them (up to DirectPeekBytes, peeked: still
	// unread; valid only during the call). It returns true if it takes the connection, which
	// is then its own (it reads what it uses and serves it); false hands the connection on
	// through Accept as usual. It runs on Accept's goroutine and must not block.
	Direct func(c *net.TCPConn, first []byte) bool
}

// DirectPeekBytes is how much of a connection's first bytes Options.Direct is shown at most.
const DirectPeekBytes = 4096

// peekBufs are the buffers Accept peeks into (one byte of them without Options.Direct).
var peekBufs = sync.Pool{New: func() any { return new([DirectPeekBytes]byte) }}

// Listener is a net.Listener whose Accept returns plain-text connections unchanged and TLS
// connections as *tls.Conn with the handshake done. Safe for concurrent use.
type Listener struct {
	inner net.Listener
	// wake is inner's SetDeadline (a *net.TCPListener has one): Accept runs inner.Accept on
	// its caller's goroutine and a classified connection wakes it with a deadline in the past.
	// nil: an acceptLoop goroutine accepts and every connection goes through conns.
	wake func(time.Time) error
	o    Options
	log  *slog.Logger

	conns chan net.Conn // without wake: classified connections for Accept
	done  chan struct{}
	fail  chan struct{} // without wake: closed when the inner listener failed for good; err says why
	err   error

	mu      sync.Mutex
	closed  bool
	pending map[net.Conn]struct{} // accepted, not yet classified or handed on
	ready   []net.Conn            // with wake: classified on their own goroutine, for Accept
	slow    atomic.Int64          // connections classified on a goroutine of their own (tests)
	wg      sync.WaitGroup
	once    sync.Once
}

// New starts accepting on inner. Close the Listener (not inner) to stop.
func New(inner net.Listener, o Options) *Listener {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	l := &Listener{
		inner: inner, o: o, log: o.Logger,
		conns:   make(chan net.Conn),
		done:    make(chan struct{}),
		fail:    make(chan struct{}),
		pending: map[net.Conn]struct{}{},
	}
	if d, ok := inner.(interface{ SetDeadline(time.Time) error }); ok {
		l.wake = d.SetDeadline
		return l
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// Accept waits for the next classified connection: a plain-text one as accepted (on TCP, a
// *net.TCPConn) or a *tls.Conn whose handshake is complete.
func (l *Listener) Accept() (net.Conn, error) {
	if l.wake == nil {
		select {
		case c := <-l.conns:
			return c, nil
		case <-l.done:
			return nil, l.closedErr()
		case <-l.fail:
			return nil, l.err
		}
	}
	for {
		// The wake-up deadline is cleared before the queue is looked at, and a classifier
		// queues before it sets the deadline: a connection queued after this look wakes the
		// inner Accept below.
		l.mu.Lock()
		closed := l.closed
		var c net.Conn
		if len(l.ready) > 0 {
			c = l.ready[0]
			l.ready[0] = nil
			l.ready = l.ready[1:]
		}
		l.mu.Unlock()
		switch {
		case closed:
			return nil, l.closedErr()
		case c != nil:
			return c, nil
		}
		raw, err := l.inner.Accept()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// Woken: a connection was classified on its own goroutine (or Close ran).
				_ = l.wake(time.Time{})
				continue
			}
			if l.isClosed() {
				return nil, l.closedErr()
			}
			return nil, err // net/http's Serve backs off on temporary errors itself
		}
		if plain, taken := l.plainNow(raw); taken {
			continue
		} else if plain {
			return raw, nil // plain text, its first byte in: no goroutine, no hand-off
		}
		if !l.track(raw) {
			_ = raw.Close()
			return nil, l.closedErr()
		}
		l.slow.Add(1)
		l.wg.Add(1)
		go l.classify(raw)
	}
}

// plainNow peeks at raw's first bytes without waiting: plain is true for a plain-text
// connection whose first byte is in (and plain text is served), taken when Options.Direct
// took it.
func (l *Listener) plainNow(raw net.Conn) (plain, taken bool) {
	pb := peekBufs.Get().(*[DirectPeekBytes]byte) // pooled: a buffer of its own would escape to the heap
	defer peekBufs.Put(pb)
	buf := pb[:1] // without Direct only the first byte matters
	if l.o.Direct != nil {
		buf = pb[:]
	}
	n, ok := peekNow(raw, buf)
	if !ok || buf[0] == recordTypeHandshake || (l.o.TLS != nil && l.o.RequireTLS) {
		return false, false
	}
	if tc, isTCP := raw.(*net.TCPConn); isTCP && l.o.Direct != nil && l.o.Direct(tc, buf[:n]) {
		return true, true
	}
	return true, false
}

func (l *Listener) closedErr() error {
	return &net.OpError{Op: "accept", Net: l.inner.Addr().Network(), Addr: l.inner.Addr(), Err: net.ErrClosed}
}

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// handOn gives a connection classified on its own goroutine to Accept, or closes it if the
// Listener was closed first.
func (l *Listener) handOn(c net.Conn) {
	if l.wake == nil {
		select {
		case l.conns <- c:
		case <-l.done:
			_ = c.Close()
		}
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = c.Close()
		return
	}
	l.ready = append(l.ready, c)
	l.mu.Unlock()
	_ = l.wake(time.Unix(1, 0)) // in the past: the inner Accept returns at once
}

// Close stops accepting, closes the connections still being classified and waits for their
// goroutines. Connections already returned by Accept are not touched.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.done)
		for c := range l.pending {
			_ = c.Close()
		}
		for _, c := range l.ready {
			_ = c.Close()
		}
		l.ready = nil
		l.mu.Unlock()
		err = l.inner.Close()
		l.wg.Wait()
	})
	return err
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				// Out of file descriptors and the like: back off as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.log.Warn("accept failed; retrying", observe.KeyError, err, "retryIn", delay)
				select {
				case <-time.After(delay):
					continue
				case <-l.done:
					return
				}
			}
			l.err = err
			close(l.fail)
			return
		}
		delay = 0
		if !l.track(c) {
			_ = c.Close()
			return
		}
		l.wg.Add(1)
		go l.classify(c)
	}
}

func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.pending[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.pending, c)
	l.mu.Unlock()
}

// classify runs on its own goroutine for each accepted connection.
func (l *Listener) classify(raw net.Conn) {
	defer l.wg.Done()
	defer l.untrack(raw)
	remote := remoteAddr{raw.RemoteAddr()} // formatted only if a line is logged
	_ = raw.SetDeadline(time.Now().Add(l.o.Timeout))
	first, c, err := peekFirst(raw)
	if err != nil {
		// Load balancers' TCP checks and port scanners connect and leave: not worth more than debug.
		if errors.Is(err, os.ErrDeadlineExceeded) {
			l.log.Debug("closed a connection that sent nothing", "remote", remote, "timeout", l.o.Timeout.String())
		} else {
			l.log.Debug("connection closed before its first byte", "remote", remote, observe.KeyError, err)
		}
		_ = raw.Close()
		return
	}
	isTLS := first == recordTypeHandshake
	switch {
	case isTLS && l.o.TLS == nil:
		l.refuseTLS(c, remote)
		return
	case !isTLS && l.o.TLS != nil && l.o.RequireTLS:
		l.refusePlain(c, remote)
		return
	case isTLS:
		tc := tls.Server(c, l.o.TLS)
		ctx, cancel := context.WithTimeout(context.Background(), l.o.Timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			// A version was chosen: the ClientHello was good and wsgate's certificate went out.
			l.handshakeFailed(err, remote, tc.ConnectionState().Version != 0)
			_ = raw.Close()
			return
		}
		c = tc
	}
	_ = c.SetDeadline(time.Time{})
	l.handOn(c)
}

// remoteAddr is a client's address as a log value, formatted when a line is written.
type remoteAddr struct{ net.Addr }

func (a remoteAddr) LogValue() slog.Value { return slog.StringValue(a.String()) }

// refuseTLS answers a TLS ClientHello on a plain-text-only port with a handshake_failure
// alert (the client reports "remote error: tls: handshake failure") and says so in the log.
func (l *Listener) refuseTLS(c net.Conn, remote remoteAddr) {
	l.log.Warn("refused a TLS (https://, wss://) connection: this port serves plain text only (tls.mode: off); connect with ws:// or http://, or remove tls.mode: off",
		"remote", remote)
	// Read the hello first: closing with unread data resets the connection, and the client
	// would see "connection reset" instead of the alert.
	var hdr [5]byte
	if _, err := io.ReadFull(c, hdr[:]); err == nil {
		n := int(hdr[3])<<8 | int(hdr[4])
		_, _ = io.CopyN(io.Discard, c, int64(n))
	}
	// A fatal alert record (level 2, description 40 handshake_failure), TLS 1.0 record version.
	_, _ = c.Write([]byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28})
	closeWrite(c)
}

// refusePlain answers a plain-text request on a TLS-only port as net/http's TLS server does,
// and says so in the log.
func (l *Listener) refusePlain(c net.Conn, remote remoteAddr) {
	var head [64]byte
	n, _ := c.Read(head[:])
	line, _, _ := strings.Cut(string(head[:n]), "\r\n")
	l.log.Warn("refused a plain-text (http://, ws://) request: this port requires TLS (tls.requireTLS); connect with https:// or wss://",
		"remote", remote, "request", line)
	_, _ = io.WriteString(c, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
	closeWrite(c)
}

// closeWrite sends FIN and drains briefly before closing, so the client reads the answer
// instead of a reset.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}
	_ = c.Close()
}

// handshakeFailed logs a failed TLS handshake with what the client must do about it.
// certSent says the server got as far as sending its certificate.
func (l *Listener) handshakeFailed(err error, remote remoteAddr, certSent bool) {
	var oe *net.OpError
	remoteAlert := errors.As(err, &oe) && oe.Op == "remote error"
	switch {
	case remoteAlert && strings.Contains(oe.Err.Error(), "certificate"):
		// Go and OpenSSL's TLS 1.2 clients say why: they do not trust the CA, or they
		// connected by a name the certificate does not carry.
		l.untrusted("TLS handshake failed: the client rejected wsgate's certificate", remote, "alert", oe.Err.Error())
	case certSent && !remoteAlert && (isClosed(err) || strings.Contains(err.Error(), "bad record MAC")):
		// Node closes without an alert; OpenSSL's TLS 1.3 clients (curl, Python) send one
		// that arrives as "bad record MAC". Either way it came right after the certificate.
		l.untrusted("TLS handshake failed: the client hung up on wsgate's certificate (most likely it does not trust it)", remote, observe.KeyError, err.Error())
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		l.log.Debug("TLS handshake timed out", "remote", remote, "timeout", l.o.Timeout.String())
	case isClosed(err):
		l.log.Debug("client closed during the TLS handshake", "remote", remote, observe.KeyError, err)
	default:
		l.log.Warn("TLS handshake failed", "remote", remote, observe.KeyError, err)
	}
}

func (l *Listener) untrusted(msg string, remote remoteAddr, args ...any) {
	args = append([]any{"remote", remote}, args...)
	if l.o.CAFile != "" {
		msg += "; make it trust the CA file (wscat --ca FILE, NODE_EXTRA_CA_CERTS=FILE, curl --cacert FILE, or import it into the browser)"
		args = append(args, "caFile", l.o.CAFile)
	}
	l.log.Warn(msg, args...)
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET)
}

// prefixConn gives back a first byte that was read from Conn (where peeking is not possible).
type prefixConn struct {
	net.Conn
	first []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.first) > 0 && len(b) > 0 {
		n := copy(b, p.first)
		p.first = p.first[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// readFirst reads the first byte where it cannot be peeked and returns a conn that gives it back.
func readFirst(c net.Conn) (byte, net.Conn, error) {
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, c, err
	}
	return b[0], &prefixConn{Conn: c, first: b[:]}, nil
}

// ListenOptions are socket options of the accepted connections, set once on the listening
// socket where the kernel copies them to every socket accept(2) returns (Linux:
// InheritsSocketOptions), instead of with a system call or four per connection.
type ListenOptions struct {
	// SendBuffer is SO_SNDBUF of every accepted socket, in bytes (Linux doubles it for its own
	// bookkeeping, socket(7)); 0: the kernel's default, autotuned.
	SendBuffer int
}

// Listen is net.Listen for a Listener's inner listener. On Linux its connections reach
// accept(2) only once their first bytes are in (TCP_DEFER_ACCEPT, at most about a second
// later for a client that sends nothing), so Accept classifies nearly all of them without a
// goroutine; and they come with o's send buffer and TCP keep-alive as net.Listen gives it (probes
// after 15 s idle, every 15 s, 9 unanswered close the socket: net.KeepAliveConfig's defaults)
// from the listening socket, so Accept sets only TCP_NODELAY on each. Elsewhere Go sets the
// keep-alive per connection and SendBuffer is not applied (InheritsSocketOptions is false).
// A socket option the kernel refuses fails Listen, naming it.
func Listen(network, address string, o ListenOptions) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		cerr := rc.Control(func(fd uintptr) {
			// Without TCP_DEFER_ACCEPT (a kernel that refuses it) Accept still works, waiting
			// for more first bytes on goroutines: not a reason to refuse to listen.
			_ = deferAccept(fd)
			err = inherited(fd, o)
		})
		if cerr != nil {
			return cerr
		}
		return err
	}}
	if InheritsSocketOptions {
		lc.KeepAlive = -1 // set once on the listening socket instead (inherited)
	}
	return lc.Listen(context.Background(), network, address)
}
