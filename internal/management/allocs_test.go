package management

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wsgate/wsgate/internal/sigv4"
)

// TestPostToConnectionAllocs pins the handler's allocations per PostToConnection signed as the
// Go SDK signs it, SigV4 verification included, with a no-op Backend: the request id string,
// its header slice, the operation's context and the decoded connection id (the body is read
// into a pooled buffer). Anything more is a regression on the push path (it was 14 before the
// push work, unsigned).
func TestPostToConnectionAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	const ceiling = 4
	body := []byte(`{"type":"notification","text":"you have a new message from alice","unread":3}`)
	c, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/dev/@connections/Dwz4leekPHcCG6Q%3D", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c.Header.Set("Content-Type", "application/octet-stream")
	c.Header.Set("Amz-Sdk-Invocation-Id", "8d0bbd4e-1c2b-4c3e-9a5f-6f2d0a1b2c3d")
	sum := sha256.Sum256(body)
	now := time.Now()
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, hex.EncodeToString(sum[:]), "execute-api", testRegion, now); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, c.URL.RequestURI(), nil)
	r.Host = c.URL.Host
	for k, vs := range c.Header {
		r.Header[k] = vs
	}
	r.RemoteAddr = "127.0.0.1:5000"
	v := sigv4.New(sigv4.Options{Credentials: map[string]string{testKeyID: testSecret}, Now: func() time.Time { return now }})
	h := New(Options{Stage: "dev", Backend: okBackend{}, Verifier: v})
	rd := bytes.NewReader(body)
	w := &discardWriter{h: http.Header{}}
	serve := func() {
		rd.Reset(body)
		r.Body, r.ContentLength = readCloser{rd}, int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	serve()
	if w.status != http.StatusOK {
		t.Fatalf("status %d, want 200 (the request must verify)", w.status)
	}
	if n := testing.AllocsPerRun(200, serve); n > ceiling {
		t.Errorf("PostToConnection allocates %v times per request, want <= %d", n, ceiling)
	}
}
