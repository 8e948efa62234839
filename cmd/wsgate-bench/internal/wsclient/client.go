// Package wsclient is wsgate-bench's client side: WebSockets kept as raw non-blocking
// descriptors in a few epoll loops (Pool), opened by Dialer from a rotating set of loopback
// source addresses, with their own frame encoder and parser.
package wsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/target"
)

// Pool is the load generator's own event loop: every client WebSocket is a raw non-blocking
// file descriptor in one of a few epoll sets, so an open connection costs the generator one
// small Conn and no goroutine (measured in docs/benchmarks.md). Handshakes are done with
// gobwas/ws on a normal net.Conn, whose descriptor is then duplicated into the pool.
//
// OnMessage runs on a loop goroutine for each complete data message (the first frame's
// payload, which is all the scenarios send); it must not block.
type Pool struct {
	OnMessage func(c *Conn, payload []byte)
	loops     []*loop
	next      atomic.Uint32
	open      atomic.Int64
	closed    atomic.Int64 // connections the server closed or lost
	protoErrs atomic.Int64
	wg        sync.WaitGroup
}

// Conn is one client WebSocket in a Pool. Write may be called from any goroutine.
type Conn struct {
	fd      int
	loop    *loop
	wmu     sync.Mutex
	pending []byte // an incomplete frame left by the last read, usually nil
	gone    atomic.Bool
	// Index is the scenario's number for the connection.
	Index int32
	// ID is what the scenario learned about the connection (its gateway connection id).
	ID atomic.Pointer[string]
}

type loop struct {
	pool  *Pool
	epfd  int
	mu    sync.Mutex
	conns map[int]*Conn
	buf   []byte
	wbuf  []byte // pong frames written from the loop goroutine
}

// NewPool starts one epoll loop per CPU.
func NewPool(onMessage func(*Conn, []byte)) (*Pool, error) {
	p := &Pool{OnMessage: onMessage}
	for range runtime.GOMAXPROCS(0) {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("epoll_create1: %w", err)
		}
		l := &loop{pool: p, epfd: epfd, conns: map[int]*Conn{}, buf: make([]byte, 256<<10)}
		p.loops = append(p.loops, l)
		p.wg.Add(1)
		go l.run()
	}
	return p, nil
}

// Open is the number of connections in the pool that the server has not closed.
func (p *Pool) Open() int64 { return p.open.Load() }

// Lost is how many connections ended without the client closing them.
func (p *Pool) Lost() int64 { return p.closed.Load() }

// ProtocolErrors counts streams the client could not parse.
func (p *Pool) ProtocolErrors() int64 { return p.protoErrs.Load() }

// Dialer opens client WebSockets from a rotating set of loopback source addresses.
type Dialer struct {
	Target  *target.Target
	Header  http.Header
	Timeout time.Duration
	src     atomic.Uint32
}

// Dial performs the handshake and returns the net.Conn with anything the server sent after
// its 101 (nil if nothing). header, when not nil, is sent instead of d.Header (a connection's
// own token).
func (d *Dialer) Dial(ctx context.Context, header http.Header) (net.Conn, []byte, error) {
	nd := net.Dialer{Timeout: d.Timeout, LocalAddr: d.Target.SourceAddr(d.src.Add(1))}
	wd := ws.Dialer{
		Timeout: d.Timeout,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nd.DialContext(ctx, network, addr)
		},
	}
	if header == nil {
		header = d.Header
	}
	if len(header) > 0 {
		wd.Header = ws.HandshakeHeaderHTTP(header)
	}
	conn, br, _, err := wd.Dial(ctx, d.Target.WS)
	if err != nil {
		return nil, nil, err
	}
	var rest []byte
	if br != nil {
		rest, _ = br.Peek(br.Buffered())
		rest = append([]byte(nil), rest...)
		ws.PutReader(br)
	}
	return conn, rest, nil
}

// Add moves an open net.Conn into the pool: its descriptor is duplicated, the net.Conn closed.
func (p *Pool) Add(nc net.Conn, early []byte, index int) (*Conn, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil, errors.New("not a TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) {
		fd, derr = fcntlDupCloexec(int(s))
	}); err != nil {
		derr = err
	}
	_ = nc.Close()
	if derr != nil {
		return nil, fmt.Errorf("dup socket: %w", derr)
	}
	l := p.loops[p.next.Add(1)%uint32(len(p.loops))]
	c := &Conn{fd: fd, loop: l, Index: int32(index)}
	l.mu.Lock()
	l.conns[fd] = c
	l.mu.Unlock()
	p.open.Add(1)
	if len(early) > 0 {
		l.mu.Lock()
		l.handle(c, early)
		l.mu.Unlock()
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.drop(c, false)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	return c, nil
}

func fcntlDupCloexec(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// ErrWriteTimeout is returned when the socket's send buffer stays full for a second.
var ErrWriteTimeout = errors.New("send buffer full for 1s")

// Write sends payload as one text message.
func (c *Conn) Write(payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.gone.Load() {
		return net.ErrClosed
	}
	var stack [256]byte
	return c.writeRaw(appendClientFrame(stack[:0], opText, payload))
}

// writeRaw writes b fully on the non-blocking socket; the caller holds wmu.
func (c *Conn) writeRaw(b []byte) error {
	var deadline time.Time
	for len(b) > 0 {
		n, err := syscall.Write(c.fd, b)
		if n > 0 {
			b = b[n:]
		}
		switch {
		case err == nil:
		case err == syscall.EAGAIN:
			if deadline.IsZero() {
				deadline = time.Now().Add(time.Second)
			} else if time.Now().After(deadline) {
				return ErrWriteTimeout
			}
			time.Sleep(100 * time.Microsecond)
		case err == syscall.EINTR:
		default:
			return err
		}
	}
	return nil
}

// Close sends a close frame (1000) and closes the socket; the server's $disconnect follows.
func (c *Conn) Close() {
	c.wmu.Lock()
	if !c.gone.Load() {
		_ = c.writeRaw([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8})
	}
	c.wmu.Unlock()
	c.loop.mu.Lock()
	c.loop.drop(c, false)
	c.loop.mu.Unlock()
}

// drop removes c from the loop and closes it; the caller holds l.mu.
func (l *loop) drop(c *Conn, lost bool) {
	if c.gone.Swap(true) {
		return
	}
	delete(l.conns, c.fd)
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	c.wmu.Lock()
	_ = syscall.Close(c.fd)
	c.wmu.Unlock()
	l.pool.open.Add(-1)
	if lost {
		l.pool.closed.Add(1)
	}
}

// Close closes every connection (with a close frame) and stops the loops.
func (p *Pool) Close() {
	for _, l := range p.loops {
		l.mu.Lock()
		cs := make([]*Conn, 0, len(l.conns))
		for _, c := range l.conns {
			cs = append(cs, c)
		}
		l.mu.Unlock()
		for _, c := range cs {
			c.Close()
		}
		_ = syscall.Close(l.epfd)
	}
	p.wg.Wait()
}

func (l *loop) run() {
	defer l.pool.wg.Done()
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(l.epfd, events, 200)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return // epfd closed by Pool.Close
		}
		for i := range n {
			fd := int(events[i].Fd)
			l.mu.Lock()
			c := l.conns[fd]
			if c != nil {
				l.readOnce(c)
			}
			l.mu.Unlock()
		}
	}
}

// readOnce reads what is there (level-triggered: more comes with the next wait); l.mu held.
func (l *loop) readOnce(c *Conn) {
	n, err := syscall.Read(c.fd, l.buf)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err != nil || n == 0:
		l.drop(c, true)
		return
	}
	l.handle(c, l.buf[:n])
}

func (l *loop) handle(c *Conn, data []byte) {
	if len(c.pending) > 0 {
		c.pending = append(c.pending, data...)
		data = c.pending
	}
	closing := false
	used, err := parseFrames(data, func(op byte, fin bool, payload []byte) {
		switch op {
		case opText, opBinary:
			if l.pool.OnMessage != nil {
				l.pool.OnMessage(c, payload)
			}
		case opPing:
			l.wbuf = appendClientFrame(l.wbuf[:0], opPong, payload)
			c.wmu.Lock()
			_ = c.writeRaw(l.wbuf)
			c.wmu.Unlock()
		case opClose:
			closing = true
		}
	})
	if err != nil {
		l.pool.protoErrs.Add(1)
		l.drop(c, true)
		return
	}
	if closing {
		l.drop(c, true)
		return
	}
	if rest := data[used:]; len(rest) > 0 {
		c.pending = append(c.pending[:0:0], rest...)
	} else {
		c.pending = nil
	}
}
