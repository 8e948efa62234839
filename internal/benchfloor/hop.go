package benchfloor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/wsgate/wsgate/internal/ascii"
	"github.com/wsgate/wsgate/third_party/nbio/nbhttp/websocket"
)

// hop is Options.Integration: one POST per message to the backend, nothing else (no headers
// beyond Content-Type, no routing, no event), through one of two clients that keep
// connections alive (up to 256 idle per host, as the gateway's integration pool):
//
//   - ClientNetHTTP: a plain net/http client, what a Go service calling a backend would use;
//   - ClientMinimal: the least an HTTP/1.1 call can cost: the request in one write(2) and the
//     answer read on the calling goroutine (status line, headers, a Content-Length body), no
//     goroutine of the client's own. It reads only what the bundled backend sends: an answer
//     without Content-Length, or with Transfer-Encoding, is an error.
type hop struct {
	url    string
	client *http.Client // ClientNetHTTP
	min    *minimalClient
}

// The clients Options.IntegrationClient names.
const (
	ClientNetHTTP = "net/http"
	ClientMinimal = "minimal"
)

// maxAnswer bounds an answer's body (the gateway's integration.MaxResponseBytes is larger; an
// echo of the bench's messages is a few hundred bytes).
const maxAnswer = 1 << 20

// errorFrame is what a failed call is answered with: the gateway's frame for an integration
// error, without its ids.
var errorFrame = []byte(`{"message": "Internal server error"}`)

func newHop(raw, client string) (*hop, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bare-server --integration %q: %w", raw, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("bare-server --integration %q: give an http:// URL, e.g. http://127.0.0.1:19001/echo", raw)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("bare-server --integration %q: not a loopback address (the floor calls 127.0.0.0/8 or ::1 only)", raw)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	switch client {
	case "", ClientNetHTTP:
		tr := &http.Transport{
			Proxy:               nil, // a loopback backend, never through $HTTP_PROXY
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}
		return &hop{url: u.String(), client: &http.Client{Transport: tr, Timeout: IntegrationTimeout}}, nil
	case ClientMinimal:
		port := u.Port()
		if port == "" {
			port = "80"
		}
		return &hop{url: u.String(), min: &minimalClient{dialer: dialer, addr: net.JoinHostPort(u.Hostname(), port),
			head: "POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: "}}, nil
	}
	return nil, fmt.Errorf("bare-server --integration-client %q: use %s or %s", client, ClientNetHTTP, ClientMinimal)
}

// echo makes the call for one message and writes the answer back on c. It runs on nbio's
// executor, which runs one connection's messages one after another (as the gateway's default
// of one call at a time per connection) and others on other goroutines.
func (h *hop) echo(c *websocket.Conn, mt websocket.MessageType, data []byte) {
	var answer []byte
	var err error
	if h.min != nil {
		answer, err = h.min.call(data)
	} else {
		answer, err = h.call(data)
	}
	if err != nil {
		_ = c.WriteMessage(websocket.TextMessage, errorFrame)
		return
	}
	if len(answer) > 0 { // as the gateway: an empty answer sends nothing back
		_ = c.WriteMessage(mt, answer)
	}
}

func (h *hop) close() {
	if h.client != nil {
		h.client.CloseIdleConnections()
	}
	if h.min != nil {
		h.min.closeIdle()
	}
}

// call POSTs a copy of data (nbio reuses data's buffer once the handler returns; net/http may
// read a request body until the answer is closed) and returns the answer's body.
func (h *hop) call(data []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(append([]byte(nil), data...)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("answer exceeds %d bytes", maxAnswer)
	}
	return b, nil
}

// minimalClient is ClientMinimal.
type minimalClient struct {
	dialer *net.Dialer
	addr   string
	head   string // the request line and headers up to Content-Length's value
	mu     sync.Mutex
	idle   []*minimalConn
}

type minimalConn struct {
	nc  net.Conn
	br  *bufio.Reader
	req []byte
}

// call sends one request on an idle connection (or a new one) and reads its answer; a
// connection that failed is closed, one that worked goes back to the idle list.
func (m *minimalClient) call(data []byte) ([]byte, error) {
	c, err := m.get()
	if err != nil {
		return nil, err
	}
	b, keep, err := c.roundTrip(m.head, data)
	if err != nil || !keep {
		_ = c.nc.Close()
		return b, err
	}
	m.mu.Lock()
	if len(m.idle) < 256 {
		m.idle = append(m.idle, c)
		c = nil
	}
	m.mu.Unlock()
	if c != nil {
		_ = c.nc.Close()
	}
	return b, nil
}

func (m *minimalClient) get() (*minimalConn, error) {
	m.mu.Lock()
	if n := len(m.idle); n > 0 {
		c := m.idle[n-1]
		m.idle[n-1] = nil
		m.idle = m.idle[:n-1]
		m.mu.Unlock()
		return c, nil
	}
	m.mu.Unlock()
	nc, err := m.dialer.Dial("tcp", m.addr)
	if err != nil {
		return nil, err
	}
	return &minimalConn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

func (m *minimalClient) closeIdle() {
	m.mu.Lock()
	idle := m.idle
	m.idle = nil
	m.mu.Unlock()
	for _, c := range idle {
		_ = c.nc.Close()
	}
}

var errNoLength = errors.New("answer without Content-Length (the minimal client reads only those)")

// roundTrip writes the request in one write and reads the answer: keep is false when the
// backend said Connection: close.
func (c *minimalConn) roundTrip(head string, body []byte) (answer []byte, keep bool, err error) {
	_ = c.nc.SetDeadline(time.Now().Add(IntegrationTimeout))
	c.req = append(c.req[:0], head...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.nc.Write(c.req); err != nil {
		return nil, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return nil, false, fmt.Errorf("not an HTTP/1.x status line: %q", line)
	}
	n, keep := -1, true
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return nil, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case ascii.EqualFold(name, "Content-Length"):
			v, err := strconv.Atoi(string(value))
			if err != nil || v < 0 || v > maxAnswer {
				return nil, false, fmt.Errorf("Content-Length %q", value)
			}
			n = v
		case ascii.EqualFold(name, "Transfer-Encoding"):
			return nil, false, errNoLength
		case ascii.EqualFold(name, "Connection") && ascii.EqualFold(value, "close"):
			keep = false
		}
	}
	if n < 0 {
		return nil, false, errNoLength
	}
	answer = make([]byte, n)
	if _, err := io.ReadFull(c.br, answer); err != nil {
		return nil, false, err
	}
	return answer, keep, nil
}
