package sigv4

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const goodSig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

var authCases = []struct {
	header  string
	wantErr string // "" means parsed
}{
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + goodSig, ""},
	{"AWS4-HMAC-SHA256 Signature=" + goodSig + ",SignedHeaders=host,Credential=AKID/20240501/us-east-1/execute-api/aws4_request", ""},
	{"", "Unsupported Authorization algorithm"},
	{"Bearer abc", "Unsupported Authorization algorithm"},
	{"AWS4-HMAC-SHA256", "requires 'Credential' parameter. Authorization header requires 'Signature' parameter."},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=host", "requires 'Signature' parameter"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, Signature=" + goodSig, "requires 'SignedHeaders' parameter"},
	{"AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=" + goodSig, "not a valid key=value pair (missing equal-sign)"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api, SignedHeaders=host, Signature=" + goodSig, "Credential \"AKID/20240501/us-east-1/execute-api\" is malformed"},
	{"AWS4-HMAC-SHA256 Credential=/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=" + goodSig, "is malformed"},
	{"AWS4-HMAC-SHA256 Credential=AKID/2024-05-01/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=" + goodSig, "must be yyyymmdd"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/US EAST/execute-api/aws4_request, SignedHeaders=host, Signature=" + goodSig, "valid region"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4, SignedHeaders=host, Signature=" + goodSig, "valid terminator: 'aws4_request', not 'aws4'"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=, Signature=" + goodSig, "SignedHeaders is empty"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=Host;X-Amz-Date, Signature=" + goodSig, "must be lower-case header names"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=host;;x, Signature=" + goodSig, "must be lower-case header names"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=x-amz-date, Signature=" + goodSig, msgHostUnsigned},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=abc", "must be 64 lower-case hex digits"},
	{"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=" + strings.ToUpper(goodSig), "must be 64 lower-case hex digits"},
}

func TestParseAuthorization(t *testing.T) {
	for _, c := range authCases {
		a, err := parseAuthorization(c.header)
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("parseAuthorization(%q): %v", c.header, err)
			} else if a.accessKey != "AKID" || a.date != "20240501" || a.region != "us-east-1" ||
				a.service != "execute-api" || a.scope != "20240501/us-east-1/execute-api/aws4_request" || a.signature != goodSig {
				t.Errorf("parseAuthorization(%q) = %+v", c.header, a)
			}
			continue
		}
		if err == nil || err.Type != parseErrType(c.wantErr) || !strings.Contains(err.Message, c.wantErr) {
			t.Errorf("parseAuthorization(%q) = %v, want %s containing %q", c.header, err, parseErrType(c.wantErr), c.wantErr)
		}
	}
}

const goodPresign = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240501%2Fus-east-1%2Fexecute-api%2Faws4_request" +
	"&X-Amz-Date=20240501T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=" + goodSig

var presignCases = []struct {
	query   string
	wantErr string
}{
	{goodPresign, ""},
	{goodPresign + "&X-Amz-Security-Token=tok&other=1", ""},
	{strings.Replace(goodPresign, "&X-Amz-Expires=300", "", 1), "must include"},
	{goodPresign + "&X-Amz-Signature=" + goodSig, "appears more than once"},
	{strings.Replace(goodPresign, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1), "X-Amz-Algorithm only supports"},
	{strings.Replace(goodPresign, "X-Amz-Expires=300", "X-Amz-Expires=0", 1), "X-Amz-Expires must be"},
	{strings.Replace(goodPresign, "X-Amz-Expires=300", "X-Amz-Expires=604801", 1), "X-Amz-Expires must be"},
	{strings.Replace(goodPresign, "X-Amz-Expires=300", "X-Amz-Expires=1h", 1), "X-Amz-Expires must be"},
	{strings.Replace(goodPresign, "%2Faws4_request", "", 1), "is malformed"},
	{strings.Replace(goodPresign, "SignedHeaders=host", "SignedHeaders=x-amz-date", 1), msgHostUnsigned},
}

func TestParsePresigned(t *testing.T) {
	for _, c := range presignCases {
		q, qerr := parseQuery(c.query)
		if qerr != nil {
			t.Fatalf("parseQuery(%q): %v", c.query, qerr)
		}
		a, err := parsePresigned(q)
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("parsePresigned(%q): %v", c.query, err)
			} else if !a.presigned || a.accessKey != "AKID" || a.expires != 300 || a.amzDate != "20240501T120000Z" || a.signature != goodSig {
				t.Errorf("parsePresigned(%q) = %+v", c.query, a)
			}
			continue
		}
		if err == nil || err.Type != parseErrType(c.wantErr) || !strings.Contains(err.Message, c.wantErr) {
			t.Errorf("parsePresigned(%q) = %v, want %s containing %q", c.query, err, parseErrType(c.wantErr), c.wantErr)
		}
	}
}

func TestAccessKeyID(t *testing.T) {
	for _, c := range []struct{ target, authz, want string }{
		{"/x", "AWS4-HMAC-SHA256 Credential=AKID1/20240501/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=x", "AKID1"},
		{"/x", "AWS4-HMAC-SHA256 Credential=AKID2, Signature=x", "AKID2"},
		{"/x", "Bearer token", ""},
		{"/x?" + goodPresign, "", "AKID"},
		{"/x?X-Amz-Credential=%zz", "", ""},
		{"/x", "", ""},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		if c.authz != "" {
			r.Header.Set("Authorization", c.authz)
		}
		if got := AccessKeyID(r); got != c.want {
			t.Errorf("AccessKeyID(%s, %q) = %q, want %q", c.target, c.authz, got, c.want)
		}
	}
}

// Without X-Amz-Date the Date header is the signing time; the skew check uses it.
func TestDateHeaderFallback(t *testing.T) {
	v := New(Options{Credentials: map[string]string{testKey: testSecret}, Now: func() time.Time { return serverNow }})
	req := func(date string) *http.Request {
		r := httptest.NewRequest("GET", "/dev/@connections/abc%3D", nil)
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKey+"/"+serverNow.Format("20060102")+
			"/us-east-1/execute-api/aws4_request, SignedHeaders=date;host, Signature="+goodSig)
		if date != "" {
			r.Header.Set("Date", date)
		}
		return r
	}
	cases := []struct{ date, wantType, wantMsg string }{
		{serverNow.Add(-10 * time.Minute).Format(http.TimeFormat), TypeInvalidSignature, "Signature expired: 20240501T115000Z is now earlier"},
		{serverNow.Add(10 * time.Minute).Format(http.TimeFormat), TypeInvalidSignature, "Signature not yet current: 20240501T121000Z"},
		{serverNow.Format(http.TimeFormat), TypeInvalidSignature, "\n20240501T120000Z\n20240501/us-east-1/execute-api/aws4_request\n"},
		{"yesterday", TypeIncompleteSignature, "is not an HTTP date"},
		{"", TypeIncompleteSignature, "either a 'X-Amz-Date' or a 'Date' header"},
	}
	for _, c := range cases {
		err := v.Verify(req(c.date), nil)
		var e *Error
		if !errors.As(err, &e) || e.Type != c.wantType || !strings.Contains(e.Message, c.wantMsg) {
			t.Errorf("Date %q: %v, want %s containing %q", c.date, err, c.wantType, c.wantMsg)
		}
	}
}

func TestKeyCacheBounded(t *testing.T) {
	c := newKeyCache("execute-api", 8)
	first := c.get("s", "20240501", "r0")
	for i := range 100 {
		c.get("s", "20240501", "r"+strings.Repeat("x", i))
	}
	if n := len(c.keys); n > 8 {
		t.Fatalf("cache holds %d keys, bound 8", n)
	}
	if got := c.get("s", "20240501", "r0"); string(got) != string(first) {
		t.Fatal("re-derived key differs")
	}
	if string(c.get("s", "20240502", "r0")) == string(first) {
		t.Fatal("key does not depend on the date")
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Type: TypeMissingToken, Message: msgMissing}
	if got := e.Error(); got != "MissingAuthenticationTokenException: Missing Authentication Token" {
		t.Errorf("Error() = %q", got)
	}
}

// parseErrType is the type AWS gives a parse failure: a credential scoped wrongly or a host left
// unsigned is an InvalidSignatureException, anything else malformed an IncompleteSignatureException.
func parseErrType(msg string) string {
	if strings.Contains(msg, "valid region") || strings.Contains(msg, "valid terminator") || strings.Contains(msg, "scoped") || strings.Contains(msg, "must be a 'SignedHeader'") || msg == msgHostUnsigned {
		return TypeInvalidSignature
	}
	return TypeIncompleteSignature
}
