package sigv4

import (
	"net/http"
	"strconv"
	"strings"
)

const (
	algorithm     = "AWS4-HMAC-SHA256"
	terminator    = "aws4_request"
	amzDateFormat = "20060102T150405Z"
	maxExpires    = 604800 // seven days, the SigV4 limit for X-Amz-Expires
)

// Presigned query parameter names. AWS matches them case-sensitively.
const (
	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
)

// auth is what a request claims: its credential scope, the headers it signed and its
// signature. It comes from the Authorization header or, for a presigned URL, the query.
type auth struct {
	presigned bool

	accessKey string
	date      string // yyyymmdd from the scope
	region    string
	service   string
	scope     string // date/region/service/aws4_request

	signedHeaders string // as sent: lower-case names joined by ';'
	signature     string

	amzDate string // presigned only: X-Amz-Date from the query
	expires int64  // presigned only: X-Amz-Expires in seconds
}

// parseAuthorization reads
// "AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request, SignedHeaders=a;b, Signature=hex".
// Components may be separated by "," or ", " and come in any order.
func parseAuthorization(h string) (auth, *Error) {
	var a auth
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != algorithm {
		return a, incomplete("Unsupported Authorization algorithm %q: sign with %s (SigV4).", clip(alg), algorithm)
	}
	var cred string
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			// AWS's own wording (amazon-archives/aws-cognito-angular-quickstart#50).
			return a, incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", clip(part), clip(h))
		}
		switch k {
		case "Credential":
			cred, haveCred = v, true
		case "SignedHeaders":
			a.signedHeaders, haveSigned = v, true
		case "Signature":
			a.signature, haveSig = v, true
		}
	}
	var missing string
	if !haveCred {
		missing += "Authorization header requires 'Credential' parameter. "
	}
	if !haveSig {
		missing += "Authorization header requires 'Signature' parameter. "
	}
	if !haveSigned {
		missing += "Authorization header requires 'SignedHeaders' parameter. "
	}
	if missing != "" {
		return a, incomplete("%sAuthorization=%s", missing, clip(h))
	}
	if err := a.parseCredential(cred); err != nil {
		return a, err
	}
	return a, a.checkShape()
}

// parsePresigned reads the X-Amz-* query parameters of a presigned URL. Each must appear
// exactly once.
func parsePresigned(q []param) (auth, *Error) {
	a := auth{presigned: true}
	var alg, cred, expires string
	seen := 0
	for _, p := range q {
		var dst *string
		var bit int
		switch p.name {
		case qAlgorithm:
			dst, bit = &alg, 1
		case qCredential:
			dst, bit = &cred, 2
		case qDate:
			dst, bit = &a.amzDate, 4
		case qExpires:
			dst, bit = &expires, 8
		case qSignedHeaders:
			dst, bit = &a.signedHeaders, 16
		case qSignature:
			dst, bit = &a.signature, 32
		default:
			continue
		}
		if seen&bit != 0 {
			return a, incomplete("Query parameter %s appears more than once; send it once.", p.name)
		}
		seen |= bit
		*dst = p.value
	}
	if seen != 63 {
		return a, incomplete("AWS query-string parameters must include '%s', '%s', '%s', '%s', '%s' and '%s'. "+
			"Re-examine the query-string parameters.", qAlgorithm, qCredential, qSignature, qSignedHeaders, qDate, qExpires)
	}
	if alg != algorithm {
		return a, incomplete("X-Amz-Algorithm only supports %s, not %q.", algorithm, clip(alg))
	}
	n, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || n < 1 || n > maxExpires {
		return a, incomplete("X-Amz-Expires must be a whole number of seconds from 1 to %d, not %q.", maxExpires, clip(expires))
	}
	a.expires = n
	if err := a.parseCredential(cred); err != nil {
		return a, err
	}
	return a, a.checkShape()
}

// parseCredential splits "AKID/yyyymmdd/region/service/aws4_request".
func (a *auth) parseCredential(c string) *Error {
	var parts [5]string
	rest := c
	for i := range 4 {
		var ok bool
		parts[i], rest, ok = strings.Cut(rest, "/")
		if !ok {
			rest = "/" // fails the check below
			break
		}
	}
	parts[4] = rest
	if parts[0] == "" || strings.Contains(rest, "/") {
		return incomplete("Credential %q is malformed: want <access key id>/<yyyymmdd>/<region>/execute-api/aws4_request.", clip(c))
	}
	a.accessKey, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	a.scope = c[len(parts[0])+1:]
	if !isDate(a.date) {
		return incomplete("Credential scope date %q must be yyyymmdd.", clip(a.date))
	}
	if !isRegion(a.region) {
		return invalid("wrong region scope", "Credential should be scoped to a valid region, not '%s'. ", clip(a.region))
	}
	if parts[4] != terminator {
		return invalid("wrong scope terminator", "Credential should be scoped with a valid terminator: '%s', not '%s'. ", terminator, clip(parts[4]))
	}
	return nil
}

// checkShape rejects signed-header lists and signatures that cannot be right, so that the
// caller learns what is wrong instead of getting a bare mismatch.
func (a *auth) checkShape() *Error {
	if a.signedHeaders == "" {
		return incomplete("SignedHeaders is empty: it must list at least 'host'.")
	}
	host := false
	for name := range strings.SplitSeq(a.signedHeaders, ";") {
		if name == "" || !isHeaderName(name) {
			return incomplete("SignedHeaders %q must be lower-case header names joined by ';'.", clip(a.signedHeaders))
		}
		if name == "host" {
			host = true
		}
	}
	if !host {
		return invalid("host not signed", msgHostUnsigned)
	}
	if len(a.signature) != 64 || !isLowerHex(a.signature) {
		return incomplete("Signature %q must be 64 lower-case hex digits.", clip(a.signature))
	}
	return nil
}

// AccessKeyID returns the access key id a request claims (Authorization header or presigned
// X-Amz-Credential), or "" if none. It does not verify anything; it is for logs.
func AccessKeyID(r *http.Request) string {
	var cred string
	if h := r.Header.Get("Authorization"); h != "" {
		_, after, ok := strings.Cut(h, "Credential=")
		if !ok {
			return ""
		}
		cred = after
	} else if r.URL != nil && strings.Contains(r.URL.RawQuery, qCredential) {
		q, err := parseQuery(r.URL.RawQuery)
		if err != nil {
			return ""
		}
		for _, p := range q {
			if p.name == qCredential {
				cred = p.value
				break
			}
		}
	}
	if i := strings.IndexAny(cred, "/, "); i >= 0 {
		cred = cred[:i]
	}
	return cred
}

func isDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isRegion accepts AWS-style region names (us-east-1, eu-central-2, local); it keeps
// arbitrary bytes out of messages and out of the signing-key cache.
func isRegion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c <= ' ' || c >= 0x7f || c == ':' || c == ';' || c == ',' {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// clip keeps echoed client input short in error messages.
func clip(s string) string {
	const max = 256
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
