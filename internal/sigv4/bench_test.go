package sigv4

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// serverRequest turns a client request signed by the SDK into what a handler receives:
// RequestURI set, Host moved out of the header map, Content-Length in the header.
func serverRequest(tb testing.TB, c *http.Request, body string) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(c.Method, c.URL.RequestURI(), nil)
	r.Host = c.Host
	if r.Host == "" {
		r.Host = c.URL.Host
	}
	for k, vs := range c.Header {
		r.Header[k] = vs
	}
	if body != "" {
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return r
}

func benchRequest(b testing.TB) (*Verifier, *http.Request, []byte) {
	body := `{"action":"message","data":"hello world, this is a typical push of a few dozen bytes"}`
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret, SessionToken: "FwoGZXIvYXdzEXAMPLEtoken"}
	c := signed(b, "POST", "http://127.0.0.1:8080/prod/@connections/Dwz4leekPHcCG6Q%3D", body,
		http.Header{"Content-Type": {"application/octet-stream"}, "Amz-Sdk-Invocation-Id": {"8d0bbd4e-1c2b-4c3e-9a5f-6f2d0a1b2c3d"},
			"Amz-Sdk-Request": {"attempt=1; max=3"}}, creds, "", "execute-api", testRegion, serverNow)
	v := New(Options{Credentials: map[string]string{testKey: testSecret}, Now: func() time.Time { return serverNow }})
	r := serverRequest(b, c, body)
	if err := v.Verify(r, []byte(body)); err != nil {
		b.Fatalf("benchmark request does not verify: %v", err)
	}
	return v, r, []byte(body)
}

// BenchmarkVerify is the cost every @connections call pays: a PostToConnection as the Go SDK
// signs it, with a warm signing-key cache.
func BenchmarkVerify(b *testing.B) {
	v, r, body := benchRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	v, r, body := benchRequest(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := v.Verify(r, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Many goroutines verify good and bad requests on one Verifier; run with -race.
func TestVerifyConcurrent(t *testing.T) {
	v, r, body := benchRequest(t)
	bad := append([]byte(nil), body...)
	bad[0] = '['
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := v.Verify(r, body); err != nil {
					errs <- "good request: " + err.Error()
					return
				}
				if err := v.Verify(r, bad); err == nil {
					errs <- "tampered body verified"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
