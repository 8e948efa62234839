package sigv4

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, c := range authCases {
		f.Add(c.header)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if (err.Type != TypeIncompleteSignature && err.Type != TypeInvalidSignature) || err.Message == "" {
				t.Fatalf("error %+v: want IncompleteSignatureException or InvalidSignatureException with a message", err)
			}
			return
		}
		if a.accessKey == "" || len(a.signature) != 64 || !strings.Contains(";"+a.signedHeaders+";", ";host;") {
			t.Fatalf("accepted %q as %+v", h, a)
		}
	})
}

func FuzzParsePresigned(f *testing.F) {
	for _, c := range presignCases {
		f.Add(c.query)
	}
	for _, c := range queryCases {
		f.Add(c.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, qerr := parseQuery(raw)
		if qerr != nil {
			return
		}
		_ = appendCanonicalQuery(nil, q, true)
		a, err := parsePresigned(q)
		if err != nil {
			if (err.Type != TypeIncompleteSignature && err.Type != TypeInvalidSignature) || err.Message == "" {
				t.Fatalf("error %+v: want IncompleteSignatureException or InvalidSignatureException with a message", err)
			}
			return
		}
		if a.expires < 1 || a.expires > maxExpires || a.accessKey == "" || len(a.signature) != 64 {
			t.Fatalf("accepted %q as %+v", raw, a)
		}
	})
}

// FuzzVerify mutates every part of a request a client controls. Verify must not panic, must
// return only *Error, and must accept only the one request the signer produced.
func FuzzVerify(f *testing.F) {
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	good := signed(f, "POST", "http://127.0.0.1:9/dev/@connections/abc%3D?a=1", "body",
		http.Header{"Content-Type": {"application/octet-stream"}}, creds, "", "execute-api", testRegion, serverNow)
	pre := presigned(f, "GET", "http://127.0.0.1:9/dev/@connections/abc%3D", "", nil, creds, "execute-api", testRegion, serverNow, 60)
	f.Add("POST", "/dev/@connections/abc%3D?a=1", good.Header.Get("Authorization"), good.Header.Get("X-Amz-Date"), "", "body")
	f.Add("GET", pre.URL.RequestURI(), "", "", "", "")
	f.Add("GET", "/x?"+goodPresign, authCases[0].header, "20240501T120000Z", "UNSIGNED-PAYLOAD", "")
	f.Add("GET", "/", "", "", "", "")
	goodAuth, perr := parseAuthorization(good.Header.Get("Authorization"))
	if perr != nil {
		f.Fatal(perr)
	}
	preSig := pre.URL.Query().Get(qSignature)
	v := New(Options{Credentials: map[string]string{testKey: testSecret}, Now: func() time.Time { return serverNow }})
	f.Fuzz(func(t *testing.T, method, target, authz, amzDate, sha, body string) {
		if target == "" || target[0] != '/' || strings.ContainsAny(target, " \r\n#") || !validMethod(method) {
			return
		}
		r := httptest.NewRequest(method, "/", nil)
		r.RequestURI = target
		u, err := r.URL.Parse(target)
		if err != nil {
			return
		}
		r.URL = u
		r.Host = "127.0.0.1:9"
		r.Header.Set("Content-Type", "application/octet-stream")
		r.Header.Set("Authorization", authz)
		if authz == "" {
			r.Header.Del("Authorization")
		}
		if amzDate != "" {
			r.Header.Set("X-Amz-Date", amzDate)
		}
		if sha != "" {
			r.Header.Set("X-Amz-Content-Sha256", sha)
		}
		r.ContentLength = int64(len(body))
		err = v.Verify(r, []byte(body))
		if err == nil {
			// Only the two signatures the SDK made can verify (anything else is a forgery),
			// and only for what they cover; equivalent spellings of the rest are fine.
			a, aerr := readAuth(r, mustQuery(t, r))
			switch {
			case aerr != nil:
				t.Fatalf("accepted a request readAuth rejects: %v", aerr)
			case a.signature == goodAuth.signature:
				if method != "POST" || body != "body" || r.URL.EscapedPath() != "/dev/@connections/abc%3D" {
					t.Fatalf("header signature accepted for %s %s body %q", method, target, body)
				}
			case a.signature == preSig:
				if method != "GET" || body != "" || r.URL.EscapedPath() != "/dev/@connections/abc%3D" {
					t.Fatalf("presigned signature accepted for %s %s body %q", method, target, body)
				}
			default:
				t.Fatalf("accepted signature %q from %s %s authz=%q", a.signature, method, target, authz)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Message == "" || !knownType(e.Type) {
			t.Fatalf("Verify returned %T %v", err, err)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

func mustQuery(t *testing.T, r *http.Request) []param {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		t.Fatalf("accepted a request with a bad query: %v", err)
	}
	return q
}

func knownType(t string) bool {
	switch t {
	case TypeInvalidSignature, TypeUnrecognizedClient, TypeMissingToken, TypeIncompleteSignature:
		return true
	}
	return false
}
