// Package sigv4 verifies AWS Signature Version 4 on incoming requests, in both the
// Authorization-header and the presigned-URL form, as API Gateway does for the @connections
// management API. Requests signed by the AWS SDKs for apigatewaymanagementapi (signing name
// execute-api) verify unchanged; the verifier signs against the Host and wire path it
// receives, so an endpoint like http://127.0.0.1:8080/dev works as well as a real one.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options.
const (
	DefaultService = "execute-api"
	DefaultMaxSkew = 5 * time.Minute
)

// Options configures a Verifier.
type Options struct {
	Credentials map[string]string // access key id -> secret access key
	Service     string            // default "execute-api"
	Regions     []string          // empty: any region
	MaxSkew     time.Duration     // default 5 * time.Minute
	Now         func() time.Time  // default time.Now
}

// Verifier checks SigV4 signatures against a set of credentials that SetCredentials may
// replace while it runs (a config reload). It is safe for concurrent use.
type Verifier struct {
	creds   atomic.Pointer[map[string]string] // access key id -> secret; never nil after New
	service string
	regions []string
	skew    time.Duration
	now     func() time.Time
	keys    *keyCache
}

// New returns a Verifier for o. It copies o.Credentials and o.Regions, so later changes to
// them have no effect.
func New(o Options) *Verifier {
	v := &Verifier{
		service: cmpOr(o.Service, DefaultService),
		regions: slices.Clone(o.Regions),
		skew:    o.MaxSkew,
		now:     o.Now,
	}
	v.SetCredentials(o.Credentials)
	if v.skew <= 0 {
		v.skew = DefaultMaxSkew
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.keys = newKeyCache(v.service, DefaultKeyCacheSize)
	return v
}

// SetCredentials replaces the accepted credentials (access key id -> secret access key) with a
// copy of creds, for every request verified from now on. An empty map accepts no signature.
func (v *Verifier) SetCredentials(creds map[string]string) {
	m := maps.Clone(creds)
	if m == nil {
		m = map[string]string{}
	}
	v.creds.Store(&m)
}

// HasCredentials reports whether any credentials are configured.
func (v *Verifier) HasCredentials() bool { return len(*v.creds.Load()) > 0 }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// maxPooledBuf keeps one request with huge headers from pinning a large buffer in the pool.
const maxPooledBuf = 16 << 10

// bufPool holds canonical-request buffers so that verifying allocates little.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Verify checks r (body already read into body; r.Body is not touched). It returns nil or
// *Error whose Type is AWS's for the failure (see the Type* constants). Safe for concurrent use.
func (v *Verifier) Verify(r *http.Request, body []byte) error {
	if err := v.verify(r, body); err != nil {
		return err // a non-nil *Error; never a typed nil in an interface
	}
	return nil
}

func (v *Verifier) verify(r *http.Request, body []byte) *Error {
	var rawQuery string
	if r.URL != nil {
		rawQuery = r.URL.RawQuery
	}
	query, qerr := parseQuery(rawQuery)
	if qerr != nil {
		return incomplete("The query string is not valid %%-encoding (%v); escape it with %%XX.", qerr)
	}
	a, err := readAuth(r, query)
	if err != nil {
		return err
	}
	if a.service != v.service {
		return invalid("wrong service scope", "Credential should be scoped to correct service: '%s'. ", v.service)
	}
	if len(v.regions) > 0 && !slices.Contains(v.regions, a.region) {
		return invalid("wrong region scope", "Credential should be scoped to a valid region, not '%s'. ", a.region)
	}

	amzDate, signed, from, err := a.timestamp(r)
	if err != nil {
		return err
	}
	if a.date != amzDate[:8] {
		return invalid("wrong date scope", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "+
			"'%s' != '%s', from '%s'.", a.date, amzDate[:8], from)
	}
	now := v.now().UTC()
	if signed.After(now.Add(v.skew)) {
		return skewError(signed, now, v.skew, true)
	}
	if a.presigned {
		if end := signed.Add(time.Duration(a.expires) * time.Second); now.After(end) {
			return invalid("presigned URL expired", "Request has expired: X-Amz-Date %s + X-Amz-Expires %d s ended at %s, now is %s. "+
				"Presign a new URL.", amzDate, a.expires, end.Format(amzDateFormat), now.Format(amzDateFormat))
		}
	} else if signed.Before(now.Add(-v.skew)) {
		return skewError(signed, now, v.skew, false)
	}

	secret, ok := (*v.creds.Load())[a.accessKey]
	if !ok {
		return &Error{Type: TypeUnrecognizedClient, Message: msgUnknownKey, Reason: "unknown access key"}
	}

	var sum [sha256.Size]byte
	var payloadHash [2 * sha256.Size]byte
	sum = sha256.Sum256(body)
	hex.Encode(payloadHash[:], sum[:])
	ph := payloadHash[:]
	if hv := r.Header.Values("X-Amz-Content-Sha256"); len(hv) > 0 {
		claimed := hv[0]
		if claimed == "UNSIGNED-PAYLOAD" || strings.HasPrefix(claimed, "STREAMING-") {
			return incomplete("X-Amz-Content-Sha256 %q is only for S3; execute-api needs the hex SHA-256 of the body.", clip(claimed))
		}
		if !strings.EqualFold(claimed, string(ph)) {
			return invalid("body hash mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed: "+
				"the body's SHA-256 is %s.", string(ph))
		}
		ph = []byte(claimed) // the client signed its own spelling
	}

	bp := bufPool.Get().(*[]byte)
	buf := appendCanonicalRequest((*bp)[:0], r, &a, query, ph)
	n := len(buf)
	sum = sha256.Sum256(buf)
	var crHash [2 * sha256.Size]byte
	hex.Encode(crHash[:], sum[:])

	// The HMAC input (pad, then string to sign) goes after the canonical request, which is
	// kept for the mismatch message.
	key := v.keys.get(secret, a.date, a.region)
	buf = appendInnerPad(buf, key)
	buf = appendStringToSign(buf, amzDate, a.scope, crHash[:])
	want := hmacOuter(key, sha256.Sum256(buf[n:]))
	got := decodeSignature(a.signature)
	var msg string
	if !hmac.Equal(want[:], got[:]) {
		msg = msgMismatch + "\n\nThe Canonical String for this request should have been\n'" + string(buf[:n]) +
			"'\n\nThe String-to-Sign should have been\n'" + string(buf[n+hmacBlock:]) + "'\n"
	}
	if cap(buf) <= maxPooledBuf {
		*bp = buf[:0]
		bufPool.Put(bp)
	}
	if msg != "" {
		return invalid("signature mismatch", "%s", msg)
	}
	return nil
}

// readAuth takes the credentials from the Authorization header or the presigned query;
// exactly one of the two must be present.
func readAuth(r *http.Request, query []param) (auth, *Error) {
	hs := r.Header.Values("Authorization")
	presigned := false
	for _, p := range query {
		if p.name == qAlgorithm || p.name == qCredential || p.name == qSignature {
			presigned = true
			break
		}
	}
	switch {
	case len(hs) > 1:
		return auth{}, incomplete("Send one Authorization header, not %d.", len(hs))
	case len(hs) == 1 && presigned:
		return auth{}, incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter " +
			"or the Authorization header should be specified.")
	case len(hs) == 1:
		return parseAuthorization(hs[0])
	case presigned:
		return parsePresigned(query)
	}
	return auth{}, &Error{Type: TypeMissingToken, Message: msgMissing, Reason: "no signature"}
}

// timestamp returns the signing time as written in the string to sign (yyyymmddThhmmssZ),
// parsed, and where it came from: X-Amz-Date (query when presigned, else header), or the
// Date header when a header-signed request has no X-Amz-Date.
func (a *auth) timestamp(r *http.Request) (string, time.Time, string, *Error) {
	if a.presigned {
		t, err := time.Parse(amzDateFormat, a.amzDate)
		if err != nil {
			return "", t, "", incomplete("X-Amz-Date %q must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z'.", clip(a.amzDate))
		}
		return a.amzDate, t, "X-Amz-Date", nil
	}
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err := time.Parse(amzDateFormat, d)
		if err != nil {
			return "", t, "", incomplete("X-Amz-Date %q must be in the ISO8601 basic format yyyyMMdd'T'HHmmss'Z'.", clip(d))
		}
		return d, t, "X-Amz-Date", nil
	}
	if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return "", t, "", incomplete("Date header %q is not an HTTP date; send X-Amz-Date instead.", clip(d))
		}
		t = t.UTC()
		return t.Format(amzDateFormat), t, "Date", nil
	}
	return "", time.Time{}, "", incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}
