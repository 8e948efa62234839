package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
)

// rawSeq numbers raw client sockets across a whole benchmark run. Each socket binds a source
// address picked from it (127.1.x.y), so tens of thousands of connections opened and closed in
// one run never run out of ephemeral ports or trip over TIME_WAIT.
var rawSeq atomic.Uint64

// browserUA is what a browser sends: the gateway keeps the User-Agent for every connection
// ($context.identity.userAgent), so a benchmark without one would understate its memory.
const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// rawDial opens n WebSocket connections to addr (host:port) and path, with raw socket syscalls
// and a hand-written handshake: the client side holds an int per connection and nothing else in
// the Go heap, no goroutine, no runtime poller entry. That keeps the in-process heap figure the
// gateway's own, and the client cheap enough to share the machine with the gateway. It returns
// the file descriptors; close them with rawClose. On error it closes what it opened.
func rawDial(addr, path string, n, workers int) ([]int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("rawDial: %w", err)
	}
	dst := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"User-Agent: " + browserUA + "\r\nOrigin: http://" + addr + "\r\nAccept-Language: en-US,en;q=0.9\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	fds := make([]int, n)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fd, err := rawOne(dst, req)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("connection %d of %d: %w", i+1, n, err) })
					next.Store(int64(n)) // stop the other workers
					fds[i] = -1
					return
				}
				fds[i] = fd
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		rawClose(fds)
		return nil, firstErr
	}
	return fds, nil
}

func rawOne(dst *syscall.SockaddrInet4, req []byte) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w (raise the open-file limit or lower the connection count)", err)
	}
	seq := rawSeq.Add(1)
	src := &syscall.SockaddrInet4{Addr: [4]byte{127, 1, byte(seq / 250 % 250), byte(seq%250 + 1)}}
	if err := syscall.Bind(fd, src); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("bind %v: %w", net.IP(src.Addr[:]), err)
	}
	if err := syscall.Connect(fd, dst); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("connect: %w", err)
	}
	for w := req; len(w) > 0; {
		k, err := syscall.Write(fd, w)
		if err != nil {
			syscall.Close(fd)
			return -1, fmt.Errorf("write handshake: %w", err)
		}
		w = w[k:]
	}
	var buf [512]byte
	got := 0
	for !bytes.Contains(buf[:got], []byte("\r\n\r\n")) {
		if got == len(buf) {
			syscall.Close(fd)
			return -1, errors.New("handshake answer longer than 512 bytes")
		}
		k, err := syscall.Read(fd, buf[got:])
		if err != nil || k == 0 {
			syscall.Close(fd)
			return -1, fmt.Errorf("read handshake answer: %v (got %q)", err, buf[:got])
		}
		got += k
	}
	if !bytes.HasPrefix(buf[:got], []byte("HTTP/1.1 101 ")) {
		syscall.Close(fd)
		return -1, fmt.Errorf("handshake refused: %q", firstLine(buf[:got]))
	}
	return fd, nil
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		return b[:i]
	}
	return b
}

// rawClose resets every connection (SO_LINGER 0: no TIME_WAIT left behind) and closes it.
func rawClose(fds []int) {
	for _, fd := range fds {
		if fd < 0 {
			continue
		}
		_ = syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
		_ = syscall.Close(fd)
	}
}

// raiseFileLimit lifts the soft open-file limit to the hard one and returns it.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}
