// Package handshake keeps the head of a connection's WebSocket upgrade request exactly as the
// client sent it, whether or not other requests came before it on the connection: header names in the client's spelling, in order, repeats kept. Go's net/http hands
// handlers an http.Header, which canonicalises names ("x-api-key" becomes "X-Api-Key") and
// merges repeats, while API Gateway passes the client's own spelling and every repeated line to
// the $connect event and the REQUEST authorizer (captures in aws-lambda-go's events/testdata and
// the threads behind aws-lambda-events#71).
//
// Wrap the listener whose connections carry plain HTTP (for TLS, the listener after the TLS
// layer) with NewListener, set http.Server.ConnContext to ConnContext, and read the head in
// the handler with Of. A handler that hijacks the connection for WebSockets passes its
// ResponseWriter through Unwrap, so that the hijacker gets the connection underneath (nbio
// moves only a *net.TCPConn onto its event loop).
package handshake

import (
	"bytes"
	"errors"
	"strings"

	"github.com/wsgate/wsgate/internal/ascii"
)

// Field is one header line as sent: Name keeps the client's spelling, Value is trimmed of the
// optional white space around it (RFC 9110 §5.5).
type Field struct {
	Name, Value string
}

// Head is a parsed request head.
type Head struct {
	Method string
	Target string // the request target as sent ("/dev?token=a")
	Proto  string
	Fields []Field
	// Bytes is the size of the header section: every header line with its line ending, the
	// request line and the final empty line not counted.
	Bytes int
}

// Errors from Parse.
var (
	ErrIncomplete = errors.New("handshake: the request head does not end with an empty line")
	ErrMalformed  = errors.New("handshake: malformed request head")
)

// Parse reads a request head: the request line, header lines, and the empty line that ends
// them ("\r\n" line endings, or a bare "\n" as net/http also accepts). Anything after the empty
// line is ignored. A line folded onto the previous one (obsolete in RFC 9112 §5.2) or a header
// line without a colon is ErrMalformed.
//
// The head is copied into one string that every returned string shares, and Fields is sized
// once: two allocations per head, whatever its number of lines (one per line would be a
// dozen per WebSocket handshake).
func Parse(b []byte) (Head, error) {
	var h Head
	end, _ := endOfHead(b, 0)
	if end < 0 {
		return h, ErrIncomplete
	}
	head := string(b[:end])
	line, rest, _ := nextLine(head)
	method, rl, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rl, " ")
	if !ok1 || !ok2 || method == "" || target == "" {
		return h, ErrMalformed
	}
	h.Method, h.Target, h.Proto = method, target, proto
	h.Fields = make([]Field, 0, strings.Count(rest, "\n")-1)
	for {
		before := len(rest)
		line, rest, _ = nextLine(rest) // head ends with an empty line: every line is whole
		if line == "" {
			return h, nil
		}
		h.Bytes += before - len(rest)
		if line[0] == ' ' || line[0] == '\t' {
			return Head{}, ErrMalformed
		}
		name, value, found := strings.Cut(line, ":")
		if !found || !ascii.IsToken(name) || strings.ContainsAny(value, "\r\x00") {
			return Head{}, ErrMalformed
		}
		h.Fields = append(h.Fields, Field{Name: name, Value: strings.Trim(value, " \t")})
	}
}

// Count is what Parse would report of a head's header section, the number of fields and
// their Bytes, without building anything: for a caller that only checks limits. It refuses
// what Parse refuses.
func Count(b []byte) (fields, size int, err error) {
	end, _ := endOfHead(b, 0)
	if end < 0 {
		return 0, 0, ErrIncomplete
	}
	rest := b[:end]
	line, rest := nextLineBytes(rest)
	method, rl, ok1 := bytes.Cut(line, []byte{' '})
	target, _, ok2 := bytes.Cut(rl, []byte{' '})
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 {
		return 0, 0, ErrMalformed
	}
	for {
		before := len(rest)
		line, rest = nextLineBytes(rest)
		if len(line) == 0 {
			return fields, size, nil
		}
		size += before - len(rest)
		if line[0] == ' ' || line[0] == '\t' {
			return 0, 0, ErrMalformed
		}
		name, value, found := bytes.Cut(line, []byte{':'})
		if !found || !ascii.IsToken(name) || bytes.ContainsAny(value, "\r\x00") {
			return 0, 0, ErrMalformed
		}
		fields++
	}
}

// nextLineBytes is nextLine on bytes that end with an empty line (every line is whole).
func nextLineBytes(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil
	}
	l := b[:i]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, b[i+1:]
}

// nextLine returns the line at the start of s without its ending, and what follows it.
func nextLine(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return "", "", false
	}
	l := s[:i]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, s[i+1:], true
}

// endOfHead scans b from line start i for the empty line that ends a head. It returns the
// length of the head (through that line) or -1, and the start of the first incomplete line,
// from which the next scan resumes once more bytes arrived.
func endOfHead(b []byte, i int) (end, resume int) {
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1, i
		}
		j += i
		if j == i || (j == i+1 && b[i] == '\r') {
			return j + 1, j + 1
		}
		i = j + 1
	}
}
