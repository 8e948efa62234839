package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKey    = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
)

// serverNow is the verifier's clock in the signer tests; requests are signed relative to it.
var serverNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// verifyServer is an httptest server whose handler reads the body, calls Verify and answers
// as the management API does: 200, or 403 with x-amzn-ErrorType and {"message": ...}. The
// last error Verify returned is kept for assertions.
type verifyServer struct {
	*httptest.Server
	v *Verifier

	mu   sync.Mutex
	errs []error
	uris []string
	n    int
}

func startVerifyServer(t *testing.T, o Options) *verifyServer {
	t.Helper()
	s := &verifyServer{v: New(o)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		verr := s.v.Verify(r, body)
		s.mu.Lock()
		s.n++
		s.errs = append(s.errs, verr)
		s.uris = append(s.uris, r.Method+" "+r.RequestURI)
		s.mu.Unlock()
		if o.Now != nil {
			// The SDK's clock-skew correction reads the server's time from Date.
			w.Header().Set("Date", o.Now().UTC().Format(http.TimeFormat))
		}
		if verr == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		var e *Error
		if !errors.As(verr, &e) {
			t.Errorf("Verify returned %T, want *Error: %v", verr, verr)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		writeError(w, e)
	}))
	t.Cleanup(s.Close)
	return s
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.Header().Set("X-Amzn-RequestId", "test-request-id")
	w.WriteHeader(http.StatusForbidden)
	json.NewEncoder(w).Encode(map[string]string{"message": e.Message})
}

// lastErr returns what Verify returned for the most recent request.
func (s *verifyServer) lastErr(t *testing.T) error {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		t.Fatal("server saw no request")
	}
	return s.errs[len(s.errs)-1]
}

func (s *verifyServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func bodyHash(b string) string {
	sum := sha256.Sum256([]byte(b))
	return hex.EncodeToString(sum[:])
}

// signed builds a request for method and rawURL and signs it with the real aws-sdk-go-v2
// signer (header form).
func signed(t testing.TB, method, rawURL, body string, hdr http.Header, creds aws.Credentials,
	payloadHash, service, region string, at time.Time) *http.Request {
	t.Helper()
	r := newRequest(t, method, rawURL, body, hdr)
	if payloadHash == "" {
		payloadHash = bodyHash(body)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash, service, region, at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
	return r
}

// presigned builds a presigned request (query form) with the real signer.
func presigned(t testing.TB, method, rawURL, body string, hdr http.Header, creds aws.Credentials,
	service, region string, at time.Time, expires int) *http.Request {
	t.Helper()
	r := newRequest(t, method, rawURL, body, hdr)
	q := r.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	r.URL.RawQuery = q.Encode()
	u, h, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, bodyHash(body), service, region, at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	out := newRequest(t, method, u, body, nil)
	for k, vs := range h {
		if strings.EqualFold(k, "host") {
			continue
		}
		out.Header[k] = vs
	}
	out.Host = r.Host
	return out
}

func newRequest(t testing.TB, method, rawURL, body string, hdr http.Header) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatalf("NewRequest %s: %v", rawURL, err)
	}
	for k, vs := range hdr {
		if strings.EqualFold(k, "host") {
			r.Host = vs[0]
			continue
		}
		r.Header[http.CanonicalHeaderKey(k)] = vs
	}
	return r
}

// send performs r against the server and returns the status and the error Verify reported.
func send(t *testing.T, s *verifyServer, r *http.Request) (int, error) {
	t.Helper()
	resp, err := s.Client().Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, s.lastErr(t)
}
