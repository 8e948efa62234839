package authorizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"
)

// A verified JWT's claims are decoded here in one pass with jsontext (the tokenizer behind
// encoding/json/v2), straight into what verify needs: the registered claims golang-jwt's
// Validator checks, the user id claim and the authorizer context. jwt.MapClaims with
// encoding/json (a map of every claim built by reflection, then copied into the context) was
// the largest part of a JWT connect's CPU.
//
// The result is the same as decoding into jwt.MapClaims with WithJSONNumber (what verify did
// before, and still does for what this decoder leaves alone): FuzzVerifyMatchesMapClaims holds
// the two to the same Result, expiry and error for any header and payload. Anything unusual
// (strings with escapes or non-ASCII bytes, arrays and objects that are not already in
// encoding/json's compact form) is handed to encoding/json value by value, so its rules
// (U+FFFD for invalid UTF-8, key order and HTML escaping in re-encoded objects) stay the ones
// that apply.

// jsonOpts make jsontext accept what encoding/json accepts: repeated names (the last one
// wins, as in a map) and invalid UTF-8 in strings (replaced with U+FFFD when decoded).
var jsonOpts = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// claimState says what a registered claim held.
type claimState uint8

const (
	claimAbsent  claimState = iota
	claimOK                 // a number (exp, nbf, iat) or a string (iss, sub)
	claimInvalid            // present with another type, null included
)

// claimSet is a JWT's payload as verify uses it. It implements jwt.Claims with the results of
// jwt.MapClaims' getters on the same payload decoded with WithJSONNumber.
type claimSet struct {
	exp, nbf, iat   claimState
	expF, nbfF, iaF float64 // the number's value (strconv.ParseFloat, errors ignored as json.Number.Float64's are)
	iss, sub        claimState
	issS, subS      string
	expDate         *jwt.NumericDate // GetExpirationTime's, once asked
	aud             jwt.ClaimStrings
	audInvalid      bool
	// user and subject are the userIdClaim's and "sub"'s values when a string or a number
	// (json.Number), else nil: what claimString reads.
	user, subject any
	// ctx is the authorizer context: every non-null claim, as scalar makes it.
	ctx map[string]any
}

// GetExpirationTime is asked twice (by the Validator, then by verify): the date is made once.
func (c *claimSet) GetExpirationTime() (*jwt.NumericDate, error) {
	if c.exp != claimOK {
		return numericDate("exp", c.exp, c.expF)
	}
	if c.expDate == nil {
		c.expDate, _ = numericDate("exp", c.exp, c.expF)
	}
	return c.expDate, nil
}
func (c *claimSet) GetNotBefore() (*jwt.NumericDate, error) { return numericDate("nbf", c.nbf, c.nbfF) }
func (c *claimSet) GetIssuedAt() (*jwt.NumericDate, error)  { return numericDate("iat", c.iat, c.iaF) }
func (c *claimSet) GetIssuer() (string, error)              { return stringClaim("iss", c.iss, c.issS) }
func (c *claimSet) GetSubject() (string, error)             { return stringClaim("sub", c.sub, c.subS) }

func (c *claimSet) GetAudience() (jwt.ClaimStrings, error) {
	if c.audInvalid {
		return nil, invalidClaim("aud")
	}
	return c.aud, nil
}

// numericDate is jwt.MapClaims.parseNumericDate for a json.Number (or another type).
func numericDate(name string, st claimState, f float64) (*jwt.NumericDate, error) {
	switch st {
	case claimAbsent:
		return nil, nil
	case claimOK:
		round, frac := math.Modf(f)
		return jwt.NewNumericDate(time.Unix(int64(round), int64(frac*1e9))), nil
	}
	return nil, invalidClaim(name)
}

func stringClaim(name string, st claimState, s string) (string, error) {
	if st == claimInvalid {
		return "", invalidClaim(name)
	}
	return s, nil
}

// invalidClaim is golang-jwt's error for a registered claim of the wrong type.
func invalidClaim(name string) error {
	return fmt.Errorf("%w: %s", jwt.ErrInvalidType, name+" is invalid")
}

// member is one claim of the payload, in order.
type member struct {
	name string
	val  any // nil: null (the claim is left out of the context)
}

// decodeScratch is what one verify reuses: the decoded segments and the JSON decoder.
type decodeScratch struct {
	tok     []byte // the token, to base64-decode from without a copy per segment
	seg     []byte // the decoded header, then the payload
	sig     []byte
	rd      bytes.Reader
	dec     *jsontext.Decoder
	members []member
	set     claimSet // the payload's, valid until put
}

var scratchPool = sync.Pool{New: func() any {
	s := &decodeScratch{}
	s.dec = jsontext.NewDecoder(&s.rd, jsonOpts...)
	return s
}}

func getScratch() *decodeScratch { return scratchPool.Get().(*decodeScratch) }

func (s *decodeScratch) put() {
	if cap(s.tok) > 2*maxTokenBytes || cap(s.seg) > 2*maxTokenBytes {
		return
	}
	s.set = claimSet{} // no references to the last token's claims
	clear(s.members)
	s.members = s.members[:0]
	s.dec.Reset(&s.rd, jsonOpts...)
	scratchPool.Put(s)
}

// decodeSegment base64url-decodes seg (no padding) into dst's storage, as golang-jwt's parser
// does with its default options.
func decodeSegment(dst, seg []byte) ([]byte, error) {
	n := base64RawURL.DecodedLen(len(seg))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	n, err := base64RawURL.Decode(dst, seg)
	return dst[:n], err
}

// open points the decoder at b.
func (s *decodeScratch) open(b []byte) {
	s.rd.Reset(b)
	s.dec.Reset(&s.rd, jsonOpts...)
}

// header reads a JOSE header: alg and kid when strings (the last of repeated names, as in a
// map). ok=false when the header is not a JSON object alone, or alg is not a string: the
// caller leaves such tokens to golang-jwt's parser, which says why it refuses them.
func (s *decodeScratch) header(b []byte) (alg, kid string, ok bool) {
	s.open(b)
	if t, err := s.dec.ReadToken(); err != nil || t.Kind() != '{' {
		return "", "", false
	}
	algOK := false
	for s.dec.PeekKind() != '}' {
		name, err := s.dec.ReadValue()
		if err != nil {
			return "", "", false
		}
		isAlg, isKid := bytes.Equal(name, []byte(`"alg"`)), bytes.Equal(name, []byte(`"kid"`))
		if !isAlg && !isKid && bytes.IndexByte(name, '\\') >= 0 {
			// An escaped spelling of alg or kid: rare enough to leave to golang-jwt.
			return "", "", false
		}
		v, err := s.dec.ReadValue()
		if err != nil {
			return "", "", false
		}
		switch {
		case isAlg:
			alg, algOK = "", false
			if v.Kind() == '"' {
				if alg, ok = jsonString(v); !ok {
					return "", "", false
				}
				algOK = true
			}
		case isKid:
			kid = ""
			if v.Kind() == '"' {
				if kid, ok = jsonString(v); !ok {
					return "", "", false
				}
			}
		}
	}
	if _, err := s.dec.ReadToken(); err != nil { // '}'
		return "", "", false
	}
	// json.Unmarshal allows only white space after the value.
	if _, err := s.dec.ReadToken(); err != io.EOF {
		return "", "", false
	}
	return alg, kid, algOK
}

// claims decodes a payload into c for userClaim. ok=false when it is not a JSON object (what
// follows the object is not read, as json.Decoder does not read it): the caller then leaves
// the token to golang-jwt's parser.
func (s *decodeScratch) claims(b []byte, userClaim string, c *claimSet) bool {
	s.open(b)
	if t, err := s.dec.ReadToken(); err != nil || t.Kind() != '{' {
		return false
	}
	for s.dec.PeekKind() != '}' {
		raw, err := s.dec.ReadValue()
		if err != nil {
			return false
		}
		name, ok := claimName(raw)
		if !ok {
			return false
		}
		v, err := s.dec.ReadValue()
		if err != nil {
			return false
		}
		val, ok := c.member(name, v, userClaim)
		if !ok {
			return false
		}
		s.members = append(s.members, member{name, val})
	}
	if _, err := s.dec.ReadToken(); err != nil { // '}'
		return false
	}
	// The context: every non-null claim, the last of repeated names (a map's semantics).
	c.ctx = make(map[string]any, len(s.members)+1)
	for _, m := range s.members {
		if m.val == nil {
			delete(c.ctx, m.name)
		} else {
			c.ctx[m.name] = m.val
		}
	}
	return true
}

// member records claim name = v and returns its context value (nil for null).
func (c *claimSet) member(name string, v jsontext.Value, userClaim string) (any, bool) {
	var val any // the context value
	var s string
	var n json.Number
	var f float64
	kind := v.Kind()
	switch kind {
	case '"':
		var ok bool
		if s, ok = jsonString(v); !ok {
			return nil, false
		}
		val = s
	case '0':
		n = json.Number(string(v))
		f, _ = strconv.ParseFloat(string(n), 64)
		val = number(n)
	case 't':
		val = true
	case 'f':
		val = false
	case 'n':
	default: // '[' or '{'
		var ok bool
		if val, ok = compound(v); !ok {
			return nil, false
		}
	}
	// str is claimString's input: the string (boxed once, shared with val) or json.Number.
	str := func() any {
		switch kind {
		case '"':
			return val
		case '0':
			return n
		}
		return nil
	}
	switch name {
	case "exp":
		c.exp, c.expF, c.expDate = dateState(kind), f, nil
	case "nbf":
		c.nbf, c.nbfF = dateState(kind), f
	case "iat":
		c.iat, c.iaF = dateState(kind), f
	case "iss":
		c.iss, c.issS = stringState(kind), s
	case "sub":
		c.sub, c.subS = stringState(kind), s
		c.subject = str()
	case "aud":
		c.aud, c.audInvalid = nil, false
		switch kind {
		case '"':
			c.aud = jwt.ClaimStrings{s}
		case '[':
			c.aud, c.audInvalid = audience(v)
		}
	}
	if name == userClaim {
		c.user = str()
	}
	return val, true
}

func dateState(kind jsontext.Kind) claimState {
	if kind == '0' {
		return claimOK
	}
	return claimInvalid
}

func stringState(kind jsontext.Kind) claimState {
	if kind == '"' {
		return claimOK
	}
	return claimInvalid
}

// audience is jwt.MapClaims' reading of an aud array: its strings, or invalid when any element
// is not a string.
func audience(v jsontext.Value) (jwt.ClaimStrings, bool) {
	var elems []any
	if err := decodeJSON(v, &elems); err != nil {
		return nil, true
	}
	var cs jwt.ClaimStrings
	for _, e := range elems {
		s, ok := e.(string)
		if !ok {
			return nil, true
		}
		cs = append(cs, s)
	}
	return cs, false
}

// claimName is a member name's string. The registered claims and a few common ones come
// without an allocation.
func claimName(raw jsontext.Value) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	switch string(raw[1 : len(raw)-1]) {
	case "exp":
		return "exp", true
	case "nbf":
		return "nbf", true
	case "iat":
		return "iat", true
	case "iss":
		return "iss", true
	case "sub":
		return "sub", true
	case "aud":
		return "aud", true
	case "jti":
		return "jti", true
	case "scope":
		return "scope", true
	case "email":
		return "email", true
	case "channels":
		return "channels", true
	}
	return jsonString(raw)
}

// jsonString is a string value's text: the bytes between the quotes when they need no
// decoding (ASCII without escapes), else what encoding/json makes of the literal.
func jsonString(raw jsontext.Value) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if plainASCII(body) {
		return string(body), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// plainASCII reports whether b holds only printable ASCII without a backslash.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// compound is the context value of an array or object claim: the JSON encoding.Marshal gives
// the value encoding/json decoded (what scalar does). An array or object already in that form
// (compact, printable ASCII without escapes, spaces or HTML characters, no objects whose keys
// might need sorting) is its own encoding; anything else goes through encoding/json.
func compound(v jsontext.Value) (any, bool) {
	if canonicalJSON(v) {
		return string(v), true
	}
	var x any
	if err := decodeJSON(v, &x); err != nil {
		return nil, false
	}
	s, ok := scalar(x)
	return s, ok
}

// canonicalJSON reports whether encoding/json would encode the value it decodes from v as v
// itself: no objects (their keys are re-sorted and deduplicated), no white space, only
// printable ASCII, and no byte encoding/json escapes ('\\', and '<', '>', '&' as HTML).
func canonicalJSON(v []byte) bool {
	for _, c := range v {
		switch {
		case c <= ' ' || c >= 0x7f, c == '\\', c == '<', c == '>', c == '&', c == '{':
			return false
		}
	}
	return true
}

// decodeJSON decodes b with encoding/json the way golang-jwt decodes a payload (UseNumber).
func decodeJSON(b []byte, into any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(into)
}
