package keepalive

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// response is the http.ResponseWriter of a taken connection, reused for each of its requests.
// The body is kept until the handler returns and then written with its Content-Length, behind
// the answers before it in the connection's write buffer. A handler that calls Flush gets its
// headers and body written at once, the body delimited by closing the connection (the
// connection carries no further request).
type response struct {
	c          *conn
	r          *http.Request
	h          http.Header
	status     int
	body       []byte
	wroteHead  bool // the head is in bw (a streaming answer)
	streamed   bool
	hijacked   bool
	closeAfter bool
}

func (w *response) reset(r *http.Request) {
	w.r = r
	clear(w.h)
	w.status = 0
	w.body = w.body[:0]
	w.wroteHead, w.streamed, w.hijacked, w.closeAfter = false, false, false, false
}

func (w *response) Header() http.Header { return w.h }

func (w *response) WriteHeader(status int) {
	if w.status != 0 || w.hijacked {
		return
	}
	if status < 100 || status > 999 {
		panic("keepalive: invalid WriteHeader code " + strconv.Itoa(status))
	}
	w.status = status
}

func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.streamed {
		return w.c.writer().Write(p)
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// Flush turns the answer into a streamed one (see response) and sends what is written so far.
func (w *response) Flush() {
	if w.hijacked {
		return
	}
	if !w.streamed {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.streamed = true
		w.writeHead(-1)
		if w.r.Method != http.MethodHead {
			_, _ = w.c.writer().Write(w.body)
		}
		w.body = w.body[:0]
	}
	_ = w.c.writer().Flush()
}

// Hijack hands the connection to the caller (a WebSocket upgrade): the answers before it are
// flushed first, and the connection serves no further request.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked || w.streamed {
		return nil, nil, http.ErrHijacked
	}
	c := w.c
	if c.bw != nil {
		if err := c.bw.Flush(); err != nil {
			return nil, nil, err
		}
	}
	w.hijacked = true
	// A connection that had no use for buffers (ServeHead's upgrade) hands out small ones: the
	// reader has what is left of the input (nothing there), the writer writes through.
	br, bw := c.br, c.bw
	if br == nil {
		br = bufio.NewReaderSize(&c.in, 16)
	}
	if bw == nil {
		bw = bufio.NewWriterSize(c.nc, 16)
	}
	return c.nc, bufio.NewReadWriter(br, bw), nil
}

// finish writes the answer into the connection's write buffer.
func (w *response) finish() {
	if w.streamed {
		return
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if _, set := w.h["Content-Type"]; !set && len(w.body) > 0 && bodyAllowed(w.status) {
		w.h["Content-Type"] = []string{http.DetectContentType(w.body)} // as net/http does
	}
	w.writeHead(len(w.body))
	if w.r.Method != http.MethodHead && bodyAllowed(w.status) {
		_, _ = w.c.writer().Write(w.body)
	}
	if cap(w.body) > 64<<10 {
		w.body = nil // one large answer does not pin its buffer for the connection's life
	}
}

// writeHead writes the status line and headers; n is the body's length, or -1 for a body
// delimited by closing the connection.
func (w *response) writeHead(n int) {
	bw := w.c.writer()
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(statusLine(w.status))
	bw.WriteString("\r\n")
	for k, vs := range w.h {
		if k == "Content-Length" && n < 0 || k == "Connection" || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if _, ok := w.h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(httpDate())
		bw.WriteString("\r\n")
	}
	if _, ok := w.h["Content-Length"]; !ok && n >= 0 && bodyAllowed(w.status) && w.status != http.StatusNoContent {
		var b [20]byte
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(b[:0], int64(n), 10))
		bw.WriteString("\r\n")
	}
	if n < 0 || w.r.Close || headerHas(w.h, "Connection", "close") {
		w.closeAfter = true
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
}

// bodyAllowed reports whether a response with status may have a body (RFC 9110 §6.4.1).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// statusLines holds "200 OK" and its like for the statuses net/http knows.
var statusLines = func() (l [600]string) {
	for i := 100; i < len(l); i++ {
		if t := http.StatusText(i); t != "" {
			l[i] = strconv.Itoa(i) + " " + t
		}
	}
	return l
}()

func statusLine(status int) string {
	if status < len(statusLines) && statusLines[status] != "" {
		return statusLines[status]
	}
	return strconv.Itoa(status) + " status code " + strconv.Itoa(status)
}

// date caches the Date header's value for the current second.
var date atomic.Pointer[dateValue]

type dateValue struct {
	sec int64
	b   []byte
}

// httpDate is the current time in the Date header's format (http.TimeFormat), made once a
// second.
func httpDate() []byte {
	now := time.Now()
	if d := date.Load(); d != nil && d.sec == now.Unix() {
		return d.b
	}
	d := &dateValue{sec: now.Unix(), b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	date.Store(d)
	return d.b
}
