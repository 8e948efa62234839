package handshake

import (
	"bytes"

	"github.com/wsgate/wsgate/internal/ascii"
)

// framing is what a request head says about the bytes that follow it on the connection.
type framing struct {
	length    int64 // Content-Length body size; 0 for none
	chunked   bool  // Transfer-Encoding: chunked (Content-Length is then ignored, as net/http does)
	upgrade   bool  // a WebSocket upgrade: Connection has the token upgrade, Upgrade websocket
	hosts     int   // Host lines
	plainHost bool  // the (last) Host value is a plain host[:port]: letters, digits, ".-_:[]"
	expect    bool  // an Expect line (net/http's server answers 417 to one it does not know)
	oddName   bool  // a field name that is not an RFC 9110 token (net/http's server answers 400)
}

// framingOf reads a complete head (through its empty line) the way net/http frames a request
// (RFC 9112 §6): chunked when Transfer-Encoding is exactly "chunked" on HTTP/1.1, else the
// Content-Length body, else no body. ok is false for what net/http refuses and then closes the
// connection on: another transfer coding, several Transfer-Encoding lines, Content-Length values
// that differ or are not decimal numbers. It allocates nothing.
func framingOf(raw []byte) (f framing, ok bool) {
	line, rest, found := cutLine(raw)
	if !found {
		return f, false
	}
	http10 := bytes.HasSuffix(line, []byte(" HTTP/1.0"))
	var te []byte
	tes, lengths := 0, 0
	var conn, upg bool
	for {
		line, rest, found = cutLine(rest)
		if !found || len(line) == 0 {
			break
		}
		name, value, colon := bytes.Cut(line, []byte(":"))
		if !colon {
			return f, false
		}
		value = bytes.Trim(value, " \t")
		f.oddName = f.oddName || !ascii.IsToken(name)
		switch {
		case ascii.EqualFold(name, "content-length"):
			n, valid := decimal(value)
			if !valid || (lengths > 0 && n != f.length) {
				return f, false
			}
			f.length, lengths = n, lengths+1
		case ascii.EqualFold(name, "transfer-encoding"):
			te, tes = value, tes+1
		case ascii.EqualFold(name, "connection"):
			conn = conn || hasToken(value, "upgrade")
		case ascii.EqualFold(name, "upgrade"):
			upg = upg || hasToken(value, "websocket")
		case ascii.EqualFold(name, "host"):
			f.hosts++
			f.plainHost = isPlainHost(value)
		case ascii.EqualFold(name, "expect"):
			f.expect = true
		}
	}
	if tes > 0 && !http10 {
		if tes > 1 || !ascii.EqualFold(te, "chunked") {
			return f, false
		}
		f.chunked, f.length = true, 0
	}
	f.upgrade = conn && upg
	return f, true
}

// cutLine returns the line at the start of b without its "\n" or "\r\n", and what follows.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil, false
	}
	line = b[:i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, b[i+1:], true
}

// chunkSize parses a chunk-size line without its "\n" ("1a", "1a;name=value", "1a\r") as
// net/http's chunked reader does: extensions dropped, white space trimmed, at most 16 hex
// digits.
func chunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.Trim(line, " \t\r")
	if len(line) == 0 || len(line) > 16 {
		return 0, false
	}
	var n uint64
	for _, b := range line {
		switch {
		case '0' <= b && b <= '9':
			b -= '0'
		case 'a' <= b && b <= 'f':
			b -= 'a' - 10
		case 'A' <= b && b <= 'F':
			b -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(b)
	}
	if n > 1<<62 {
		return 0, false
	}
	return int64(n), true
}

// decimal parses a Content-Length value: decimal digits only, below 2^63.
func decimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasToken reports whether the comma-separated list v has token (ASCII case-insensitive).
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		part, rest, _ := bytes.Cut(v, []byte(","))
		if ascii.EqualFold(bytes.Trim(part, " \t"), token) {
			return true
		}
		v = rest
	}
	return false
}

// isPlainHost reports whether v is a non-empty host[:port] of letters, digits and ".-_:[]"
// (a name, an IPv4 or a bracketed IPv6 address): a Host value net/http accepts.
func isPlainHost(v []byte) bool {
	for _, b := range v {
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case b == '.' || b == '-' || b == '_' || b == ':' || b == '[' || b == ']':
		default:
			return false
		}
	}
	return len(v) > 0
}

// WholeUpgrade reports whether b starts with a whole request head that asks for a WebSocket
// upgrade the way every client sends one, and returns the head's length (through its empty
// line): "GET target HTTP/1.1", one Host line with a plain host[:port], Connection: upgrade
// and Upgrade: websocket, nothing that announces a body (no Content-Length other than 0, no
// Transfer-Encoding), no Expect line (net/http's server answers 417 to an expectation it
// does not know) and only token field names (it answers 400 to others). Such a head can be
// served without net/http (see keepalive's ServeHead) exactly as net/http would serve it; anything else is left to net/http.
func WholeUpgrade(b []byte) (end int, ok bool) {
	end, _ = endOfHead(b, 0)
	if end < 0 || !bytes.HasPrefix(b, []byte("GET /")) {
		return 0, false
	}
	line, _, _ := cutLine(b[:end])
	if !bytes.HasSuffix(line, []byte(" HTTP/1.1")) {
		return 0, false
	}
	f, valid := framingOf(b[:end])
	if !valid || !f.upgrade || f.chunked || f.length != 0 || f.hosts != 1 || !f.plainHost ||
		f.expect || f.oddName {
		return 0, false
	}
	return end, true
}
