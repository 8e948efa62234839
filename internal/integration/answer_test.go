package integration

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

var plainAnswerSeeds = []string{
	// net/http's server
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sun, 29 Nov 2026 14:00:00 GMT\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
	// Node's http server
	"HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 2\r\nETag: W/\"2-x\"\r\nDate: Sun, 29 Nov 2026 14:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nhi",
	"HTTP/1.1 403 Forbidden\r\nX-Reason: banned\r\nX-Reason: twice\r\nContent-Length: 4\r\n\r\nnope",
	"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 500 \r\nContent-Length:3\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\nbad",
	// what net/http's path must read
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\npart\r\n0\r\n\r\n",
	"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nBad Name: v\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
}

// cutShort is a plain answer whose body ends early: read on the plain path, and an error.
const cutShort = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"

// FuzzPlainAnswer holds readPlainAnswer to http.ReadResponse: an answer it reads must read the
// same through net/http (status, every header, body, kept alive), and one it declines must be
// left in the reader untouched, for net/http's path.
func FuzzPlainAnswer(f *testing.F) {
	for _, s := range plainAnswerSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(cutShort))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 4096)
		got, ok, err := readPlainAnswer(br)
		if !ok {
			if err != nil {
				return // a read error while waiting for the head: the call fails either way
			}
			rest, _ := io.ReadAll(br)
			if !bytes.Equal(rest, data) {
				t.Fatalf("declined but consumed: %q left of %q", rest, data)
			}
			return
		}
		if err != nil {
			return // the body was cut short: the call fails, as through net/http
		}
		want, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), &http.Request{Method: http.MethodPost})
		if err != nil {
			t.Fatalf("read %q, which net/http refuses: %v", data, err)
		}
		body, err := io.ReadAll(want.Body)
		if err != nil {
			t.Fatalf("net/http cannot read the body of %q: %v", data, err)
		}
		if got.StatusCode != want.StatusCode || !bytes.Equal(got.Body, body) || want.Close {
			t.Fatalf("%q: got %d %q, net/http %d %q (close %v)", data, got.StatusCode, got.Body, want.StatusCode, body, want.Close)
		}
		if !reflect.DeepEqual(got.Header, want.Header) {
			t.Fatalf("%q: headers\n got %v\nwant %v", data, got.Header, want.Header)
		}
	})
}

// TestPlainAnswerReadsTheCommonAnswers: the seeds a backend sends every day take the plain
// path; the rest are left to net/http.
func TestPlainAnswerReadsTheCommonAnswers(t *testing.T) {
	for i, s := range plainAnswerSeeds {
		_, ok, err := readPlainAnswer(bufio.NewReader(strings.NewReader(s)))
		want := i < 5
		if ok != want || (ok && err != nil) {
			t.Errorf("%q: plain path %v (%v), want %v", s, ok, err, want)
		}
	}
	if _, ok, err := readPlainAnswer(bufio.NewReader(strings.NewReader(cutShort))); !ok || err == nil {
		t.Errorf("a body cut short: plain path %v, err %v, want an error", ok, err)
	}
}
