package bench

import (
	"bufio"
	"math"
	"strings"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var h Hist
	if !math.IsNaN(h.Quantile(.5)) || !math.IsNaN(h.Max()) {
		t.Fatal("empty histogram must give NaN")
	}
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct{ q, want float64 }{{.5, 500}, {.9, 900}, {.99, 990}} {
		if got := h.Quantile(c.q); got < c.want || got > c.want*1.04 {
			t.Errorf("q%.2f = %.1fms, want %.0fms within 4%%", c.q, got, c.want)
		}
	}
	if h.Max() != 1000 || h.Count() != 1000 {
		t.Errorf("max %.1f count %d", h.Max(), h.Count())
	}
}

func TestBuckets(t *testing.T) {
	prev := -1
	for us := int64(0); us < 1<<20; us += 1 + us/50 {
		b := bucketOf(us)
		if b < prev || us > bucketHigh(b) || (b > 0 && us <= bucketHigh(b-1)) {
			t.Fatalf("%dµs in bucket %d [.., %d], previous bucket ends %d", us, b, bucketHigh(b), bucketHigh(b-1))
		}
		prev = b
	}
}

func TestEchoMessage(t *testing.T) {
	now := time.Unix(0, 1700000000123456789)
	m := echoMessage(nil, now, "ff")
	if string(m) != `{"action":"echo","t":1700000000123456789,"f":"ff"}` {
		t.Fatalf("%s", m)
	}
	if got, ok := sentAt(m); !ok || !got.Equal(now) {
		t.Fatalf("sentAt: %v %v", got, ok)
	}
	if _, ok := sentAt([]byte(`{"t":x}`)); ok {
		t.Fatal("sentAt accepted no digits")
	}
}

func TestEscapeSegment(t *testing.T) {
	if got := escapeSegment("aB3-_.~=/+"); got != "aB3-_.~%3D%2F%2B" {
		t.Fatal(got)
	}
}

func TestReadResponseLengthAndChunked(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n" +
		"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno"
	h := &httpConn{br: bufio.NewReader(strings.NewReader(raw))}
	for _, want := range []struct {
		status int
		body   string
	}{{200, "hello"}, {200, `{"a":1}`}, {404, "no"}} {
		status, body, err := h.readResponse()
		if err != nil || status != want.status || string(body) != want.body {
			t.Fatalf("got %d %q %v, want %d %q", status, body, err, want.status, want.body)
		}
	}
	if _, _, err := h.readResponse(); err == nil {
		t.Fatal("no error at the end of the stream")
	}
	h = &httpConn{br: bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))}
	if _, _, err := h.readResponse(); err == nil || !strings.Contains(err.Error(), "chunk size") {
		t.Fatalf("bad chunk size: %v", err)
	}
}
