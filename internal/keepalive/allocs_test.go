package keepalive

import (
	"io"
	"net/http"
	"testing"
)

// TestTakenRequestAllocs pins the allocations of one request on a taken connection (a signed
// PostToConnection's head, as the Go SDK sends it), from its bytes arriving to its answer
// written, the handler's own work aside: what http.ReadRequest makes (the request, its URL, the
// header map, its values and the keys it does not know) and nothing per answer (headers, Date
// and status line are written from reused buffers; an unread body is dropped through a reused
// reader). A parser filling a reused request would remove most of them: not done.
func TestTakenRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	const ceiling = 24 // all of them in http.ReadRequest (go1.26, this head)
	body := `{"type":"notification","text":"you have a new message from alice","unread":3}`
	_, ln := start(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Amzn-Requestid"] = requestID
		h["Content-Type"] = jsonType
		h["Content-Length"] = zero
		w.WriteHeader(http.StatusOK)
	})
	c, br := dial(t, ln)
	req := "POST /dev/@connections/Dwz4leekPHcCG6Q%3D?take HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" +
		"User-Agent: aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/apigatewaymanagementapi#1.24.1 m/E\r\n" +
		"Content-Length: 77\r\nAmz-Sdk-Invocation-Id: 8d0bbd4e-1c2b-4c3e-9a5f-6f2d0a1b2c3d\r\nAmz-Sdk-Request: attempt=1; max=3\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n" +
		"Content-Type: application/octet-stream\r\nX-Amz-Date: 20240501T120000Z\r\nAccept-Encoding: gzip\r\n\r\n" + body
	io.WriteString(c, req)
	read(t, br, "POST") // the first request is net/http's; the connection is taken after it
	io.WriteString(c, req)
	first, _ := read(t, br, "POST")
	if first.StatusCode != 200 {
		t.Fatalf("status %d", first.StatusCode)
	}
	// The answer's length, to read it back without allocating on the client side.
	raw := make([]byte, 0, 512)
	io.WriteString(c, req)
	for {
		b, _ := br.ReadByte()
		raw = append(raw, b)
		if n := len(raw); n >= 4 && string(raw[n-4:]) == "\r\n\r\n" {
			break
		}
	}
	buf := make([]byte, len(raw))
	reqBytes := []byte(req)
	n := testing.AllocsPerRun(200, func() {
		if _, err := c.Write(reqBytes); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(br, buf); err != nil {
			t.Fatal(err)
		}
	})
	if n > ceiling {
		t.Errorf("a request on a taken connection allocates %v times, want <= %d", n, ceiling)
	}
	t.Logf("%v allocations per request", n)
}

var (
	requestID = []string{"8f1c2a90-5b0e-4c1d-9a7e-0123456789ab"}
	jsonType  = []string{"application/json"}
	zero      = []string{"0"}
)
