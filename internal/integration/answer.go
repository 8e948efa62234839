package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/wsgate/wsgate/internal/ascii"
)

// readPlainAnswer reads the common answer without net/http's parser: HTTP/1.1, a status of 200
// or more but not 204 or 304, header lines that need no unfolding or repair, exactly one
// Content-Length, no Transfer-Encoding, Trailer or Pragma, Connection (if any) keep-alive, the
// whole head already in br's buffer. It makes one string of the head (header keys and values
// are slices of it), the header map, one slice for the values, the Response and the body,
// where http.ReadResponse makes a string per line, a reader, a request and more: about half of
// an HTTP_PROXY call's allocations (docs/benchmarks.md).
//
// ok is false, with nothing consumed from br, for every other answer: the caller then reads it
// with http.ReadResponse, so anything unusual means what it means to net/http (FuzzPlainAnswer
// holds the two to the same result). err is a read error while waiting for the head or body.
// Not for answers to HEAD, which carry a Content-Length and no body.
func readPlainAnswer(br *bufio.Reader) (r *Response, ok bool, err error) {
	head, err := peekHead(br)
	if err != nil || head == nil {
		return nil, false, err
	}
	status, lines, n, ok := scanPlainHead(head)
	if !ok || n > MaxResponseBytes { // too large: http.ReadResponse's path reports it
		return nil, false, nil
	}
	s := string(head)
	h := make(http.Header, lines)
	vals := make([]string, lines)
	pos := strings.IndexByte(s, '\n') + 1 // past the status line
	for k := range lines {
		end := pos + strings.IndexByte(s[pos:], '\n')
		line := s[pos : end-1] // without CR LF
		pos = end + 1
		colon := strings.IndexByte(line, ':')
		key := textproto.CanonicalMIMEHeaderKey(line[:colon]) // no copy when already canonical
		v := strings.Trim(line[colon+1:], " \t")
		if vs, seen := h[key]; seen {
			h[key] = append(vs, v)
			continue
		}
		vals[k] = v
		h[key] = vals[k : k+1 : k+1]
	}
	_, _ = br.Discard(len(head))
	body := []byte{}
	if n > 0 {
		body = make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return nil, true, fmt.Errorf("read response: %w", err)
		}
	}
	return &Response{StatusCode: status, Header: h, Body: body}, true, nil
}

var endOfHead = []byte("\r\n\r\n")

// peekHead waits for the answer's head (through its empty line) and returns it, still in br's
// buffer; nil when it does not fit there.
func peekHead(br *bufio.Reader) ([]byte, error) {
	if _, err := br.Peek(1); err != nil {
		return nil, err
	}
	for {
		b, _ := br.Peek(br.Buffered())
		if i := bytes.Index(b, endOfHead); i >= 0 {
			return b[:i+len(endOfHead)], nil
		}
		if len(b) >= br.Size() {
			return nil, nil
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			return nil, err
		}
	}
}

// scanPlainHead checks head (status line, header lines, empty line, each ending in CR LF) is
// one readPlainAnswer reads, and returns its status, its number of header lines and its
// Content-Length.
func scanPlainHead(head []byte) (status, lines int, n int64, ok bool) {
	eol := bytes.IndexByte(head, '\n')
	sl := head[:eol+1]
	if len(sl) < len("HTTP/1.1 200\r\n") || string(sl[:9]) != "HTTP/1.1 " || sl[len(sl)-2] != '\r' ||
		!(sl[12] == ' ' || sl[12] == '\r' && len(sl) == 14) {
		return 0, 0, 0, false
	}
	for _, d := range sl[9:12] {
		if d < '0' || d > '9' {
			return 0, 0, 0, false
		}
		status = status*10 + int(d-'0')
	}
	if status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
		return 0, 0, 0, false
	}
	lengths := 0
	rest := head[eol+1:]
	for {
		eol = bytes.IndexByte(rest, '\n')
		if eol < 1 || rest[eol-1] != '\r' {
			return 0, 0, 0, false
		}
		line := rest[:eol-1]
		rest = rest[eol+1:]
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || !validName(string(line[:colon])) { // also refuses a folded line (leading SP/HTAB)
			return 0, 0, 0, false
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		for _, b := range value {
			if b < ' ' && b != '\t' || b == 0x7f {
				return 0, 0, 0, false
			}
		}
		switch {
		case ascii.EqualFold(name, "Content-Length"):
			lengths++
			if len(value) == 0 || len(value) > 18 {
				return 0, 0, 0, false
			}
			for _, d := range value {
				if d < '0' || d > '9' {
					return 0, 0, 0, false
				}
				n = n*10 + int64(d-'0')
			}
		case ascii.EqualFold(name, "Transfer-Encoding"), ascii.EqualFold(name, "Trailer"), ascii.EqualFold(name, "Pragma"):
			return 0, 0, 0, false
		case ascii.EqualFold(name, "Connection") && !ascii.EqualFold(value, "keep-alive"):
			return 0, 0, 0, false
		}
		lines++
	}
	if lengths != 1 || len(rest) != 0 {
		return 0, 0, 0, false
	}
	return status, lines, n, true
}
