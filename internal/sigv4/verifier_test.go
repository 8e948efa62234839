package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// signCase is one request produced by the real aws-sdk-go-v2 signer, sent over HTTP to a
// server that verifies it.
type signCase struct {
	name   string
	method string
	path   string // wire-escaped path, optionally with ?query
	body   string
	hdr    http.Header

	key, secret, token string // default testKey, testSecret, none
	service, region    string // default execute-api, us-east-1
	payloadHash        string // hash handed to SignHTTP; default the body's
	at                 time.Duration
	presign            int // X-Amz-Expires; 0 signs the Authorization header
	tamper             func(*http.Request)
	opts               func(*Options)

	wantType string // "" means accepted
	wantMsg  string // substring of Error.Message
}

func TestVerifySignedRequests(t *testing.T) {
	octet := http.Header{"Content-Type": {"application/octet-stream"}}
	cases := []signCase{
		// Accepted.
		{name: "post raw @ and %3D", method: "POST", path: "/dev/@connections/Dwz4leekPHcCG6Q%3D", body: `{"hello":"world"}`, hdr: octet},
		{name: "get %40", method: "GET", path: "/dev/%40connections/x%3D"},
		{name: "delete", method: "DELETE", path: "/dev/@connections/abc%3D"},
		{name: "empty post", method: "POST", path: "/dev/@connections/abc%3D", hdr: octet},
		{name: "escaped slash and plus in id", method: "GET", path: "/dev/@connections/a%2Fb%2Bc%3D"},
		{name: "with content sha256", method: "POST", path: "/dev/@connections/abc%3D", body: "data",
			hdr: http.Header{"X-Amz-Content-Sha256": {bodyHash("data")}}},
		{name: "query string", method: "GET", path: "/dev/@connections/abc%3D?b=2&a=1&a=0&sp=hello%20world&plus=a+b&empty=&flag&t=~x&s=a%2Fb%3D"},
		{name: "session token", method: "POST", path: "/dev/@connections/abc%3D", body: "x", token: "FwoGZXIvYXdzEXAMPLE//token+="},
		{name: "host without port", method: "POST", path: "/prod/@connections/abc%3D", body: "x",
			hdr: http.Header{"Host": {"abc123.execute-api.us-east-1.amazonaws.com"}}},
		{name: "multi-valued header with spaces", method: "POST", path: "/dev/@connections/abc%3D", body: "x",
			hdr: http.Header{"X-Multi": {"  a   b  c ", "d"}, "X-Spaced": {"one   two"}}},
		{name: "unsigned header added after signing", method: "GET", path: "/dev/@connections/abc%3D",
			tamper: func(r *http.Request) {
				r.Header.Set("X-Amzn-Trace-Id", "Root=1-abc")
				r.Header.Set("User-Agent", "later")
			}},
		{name: "4m59s old", method: "GET", path: "/dev/@connections/abc%3D", at: -(5*time.Minute - time.Second)},
		{name: "4m59s ahead", method: "GET", path: "/dev/@connections/abc%3D", at: 5*time.Minute - time.Second},
		{name: "region allowed", method: "GET", path: "/dev/@connections/abc%3D", region: "eu-west-1",
			opts: func(o *Options) { o.Regions = []string{"us-east-1", "eu-west-1"} }},
		{name: "custom service", method: "GET", path: "/dev/@connections/abc%3D", service: "my-svc",
			opts: func(o *Options) { o.Service = "my-svc" }},
		{name: "presigned", method: "GET", path: "/dev/@connections/abc%3D", presign: 300},
		{name: "presigned with query and token", method: "GET", path: "/dev/%40connections/abc%3D?z=1&a=b+c", presign: 60, token: "tok/en="},
		{name: "presigned 30 min old, valid 1h", method: "DELETE", path: "/dev/@connections/abc%3D", presign: 3600, at: -30 * time.Minute},

		// Rejected.
		{name: "wrong secret", method: "POST", path: "/dev/@connections/abc%3D", body: "x", secret: "not-the-secret",
			wantType: TypeInvalidSignature, wantMsg: msgMismatch},
		{name: "unknown key", method: "POST", path: "/dev/@connections/abc%3D", body: "x", key: "AKIDUNKNOWN",
			wantType: TypeUnrecognizedClient, wantMsg: msgUnknownKey},
		{name: "tampered body", method: "POST", path: "/dev/@connections/abc%3D", body: "hello",
			tamper:   func(r *http.Request) { setBody(r, "jello") },
			wantType: TypeInvalidSignature, wantMsg: msgMismatch},
		{name: "tampered body with content sha256", method: "POST", path: "/dev/@connections/abc%3D", body: "hello",
			hdr:      http.Header{"X-Amz-Content-Sha256": {bodyHash("hello")}},
			tamper:   func(r *http.Request) { setBody(r, "jello") },
			wantType: TypeInvalidSignature, wantMsg: "'x-amz-content-sha256' header does not match"},
		{name: "tampered path", method: "POST", path: "/dev/@connections/abc%3D", body: "x",
			tamper:   func(r *http.Request) { setPath(r, "/dev/@connections/abd%3D") },
			wantType: TypeInvalidSignature, wantMsg: msgMismatch},
		{name: "signed raw @, sent %40", method: "GET", path: "/dev/@connections/abc%3D",
			tamper:   func(r *http.Request) { setPath(r, "/dev/%40connections/abc%3D") },
			wantType: TypeInvalidSignature, wantMsg: "/dev/%2540connections/abc%253D"},
		{name: "tampered query", method: "GET", path: "/dev/@connections/abc%3D?a=1",
			tamper:   func(r *http.Request) { r.URL.RawQuery = "a=2" },
			wantType: TypeInvalidSignature, wantMsg: msgMismatch},
		{name: "tampered signed header", method: "POST", path: "/dev/@connections/abc%3D", body: "x", hdr: octet,
			tamper:   func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			wantType: TypeInvalidSignature, wantMsg: msgMismatch},
		{name: "tampered host", method: "GET", path: "/dev/@connections/abc%3D",
			tamper:   func(r *http.Request) { r.Host = "evil.example:443" },
			wantType: TypeInvalidSignature, wantMsg: msgMismatch},
		{name: "tampered session token", method: "GET", path: "/dev/@connections/abc%3D", token: "good",
			tamper:   func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "bad!") },
			wantType: TypeInvalidSignature, wantMsg: msgMismatch},
		{name: "expired", method: "GET", path: "/dev/@connections/abc%3D", at: -6 * time.Minute,
			wantType: TypeInvalidSignature, wantMsg: "Signature expired: 20240501T115400Z is now earlier than 20240501T115500Z (20240501T120000Z - 5 min.)"},
		{name: "future", method: "GET", path: "/dev/@connections/abc%3D", at: 6 * time.Minute,
			wantType: TypeInvalidSignature, wantMsg: "Signature not yet current: 20240501T120600Z is still later than 20240501T120500Z (20240501T120000Z + 5 min.)"},
		{name: "custom skew", method: "GET", path: "/dev/@connections/abc%3D", at: -2 * time.Minute,
			opts:     func(o *Options) { o.MaxSkew = time.Minute },
			wantType: TypeInvalidSignature, wantMsg: "(20240501T120000Z - 1 min.)"},
		{name: "presigned expired", method: "GET", path: "/dev/@connections/abc%3D", presign: 300, at: -10 * time.Minute,
			wantType: TypeInvalidSignature, wantMsg: "Request has expired"},
		{name: "presigned future", method: "GET", path: "/dev/@connections/abc%3D", presign: 300, at: 10 * time.Minute,
			wantType: TypeInvalidSignature, wantMsg: "Signature not yet current"},
		{name: "presigned tampered", method: "GET", path: "/dev/@connections/abc%3D?a=1", presign: 300,
			tamper:   func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "a=1", "a=2", 1) },
			wantType: TypeInvalidSignature, wantMsg: msgMismatch},
		{name: "wrong service", method: "GET", path: "/dev/@connections/abc%3D", service: "apigateway",
			wantType: TypeInvalidSignature, wantMsg: "Credential should be scoped to correct service: 'execute-api'. "},
		{name: "wrong region", method: "GET", path: "/dev/@connections/abc%3D", region: "eu-west-1",
			opts:     func(o *Options) { o.Regions = []string{"us-east-1"} },
			wantType: TypeInvalidSignature, wantMsg: "Credential should be scoped to a valid region, not 'eu-west-1'. "},
		{name: "host unsigned", method: "GET", path: "/dev/@connections/abc%3D",
			tamper:   rewriteAuth("SignedHeaders=host;", "SignedHeaders="),
			wantType: TypeInvalidSignature, wantMsg: msgHostUnsigned},
		{name: "presigned host unsigned", method: "GET", path: "/dev/@connections/abc%3D", presign: 300,
			tamper:   rewriteQuery("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date"),
			wantType: TypeInvalidSignature, wantMsg: msgHostUnsigned},
		{name: "scope date differs", method: "GET", path: "/dev/@connections/abc%3D",
			tamper:   rewriteAuth("/20240501/", "/20240502/"),
			wantType: TypeInvalidSignature, wantMsg: "'20240502' != '20240501', from 'X-Amz-Date'"},
		{name: "bad terminator", method: "GET", path: "/dev/@connections/abc%3D",
			tamper:   rewriteAuth("/aws4_request", "/aws4_requests"),
			wantType: TypeInvalidSignature, wantMsg: "valid terminator"},
		{name: "unsigned payload", method: "POST", path: "/dev/@connections/abc%3D", body: "x",
			hdr: http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, payloadHash: "UNSIGNED-PAYLOAD",
			wantType: TypeIncompleteSignature, wantMsg: "only for S3"},
		{name: "no authorization", method: "GET", path: "/dev/@connections/abc%3D",
			tamper:   func(r *http.Request) { r.Header.Del("Authorization") },
			wantType: TypeMissingToken, wantMsg: msgMissing},
		{name: "header and presigned", method: "GET", path: "/dev/@connections/abc%3D",
			tamper:   func(r *http.Request) { r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" },
			wantType: TypeIncompleteSignature, wantMsg: "Only one auth mechanism"},
		{name: "sigv4a", method: "GET", path: "/dev/@connections/abc%3D",
			tamper:   rewriteAuth("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
			wantType: TypeIncompleteSignature, wantMsg: "Unsupported Authorization algorithm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runSignCase(t, c) })
	}
}

func runSignCase(t *testing.T, c signCase) {
	o := Options{
		Credentials: map[string]string{testKey: testSecret, "AKIDOTHER": "other-secret"},
		Now:         func() time.Time { return serverNow },
	}
	if c.opts != nil {
		c.opts(&o)
	}
	srv := startVerifyServer(t, o)
	creds := aws.Credentials{
		AccessKeyID:     or(c.key, testKey),
		SecretAccessKey: or(c.secret, testSecret),
		SessionToken:    c.token,
	}
	service, region := or(c.service, "execute-api"), or(c.region, testRegion)
	at := serverNow.Add(c.at)
	var r *http.Request
	if c.presign > 0 {
		r = presigned(t, c.method, srv.URL+c.path, c.body, c.hdr, creds, service, region, at, c.presign)
	} else {
		r = signed(t, c.method, srv.URL+c.path, c.body, c.hdr, creds, c.payloadHash, service, region, at)
	}
	if c.tamper != nil {
		c.tamper(r)
	}
	status, err := send(t, srv, r)
	if c.wantType == "" {
		if err != nil || status != http.StatusOK {
			t.Fatalf("status %d, Verify: %v", status, err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("status %d, Verify returned %v, want *Error %s", status, err, c.wantType)
	}
	if status != http.StatusForbidden || e.Type != c.wantType || !strings.Contains(e.Message, c.wantMsg) {
		t.Fatalf("status %d, error %s: %q\nwant 403 %s containing %q", status, e.Type, e.Message, c.wantType, c.wantMsg)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// setBody replaces the body by one of the same length, so only the content differs.
func setBody(r *http.Request, body string) {
	r.Body = http.NoBody
	if body != "" {
		r.Body = readCloser{strings.NewReader(body)}
	}
	r.ContentLength = int64(len(body))
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func setPath(r *http.Request, escaped string) {
	r.URL.RawPath = escaped
	p, err := url.PathUnescape(escaped)
	if err != nil {
		panic(err)
	}
	r.URL.Path = p
}

func rewriteAuth(old, new string) func(*http.Request) {
	return func(r *http.Request) {
		h := r.Header.Get("Authorization")
		if !strings.Contains(h, old) {
			panic("Authorization " + h + " lacks " + old)
		}
		r.Header.Set("Authorization", strings.Replace(h, old, new, 1))
	}
}

func rewriteQuery(old, new string) func(*http.Request) {
	return func(r *http.Request) {
		if !strings.Contains(r.URL.RawQuery, old) {
			panic("query " + r.URL.RawQuery + " lacks " + old)
		}
		r.URL.RawQuery = strings.Replace(r.URL.RawQuery, old, new, 1)
	}
}
