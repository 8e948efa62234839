package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// parseProxyResult reads a Lambda proxy result ({statusCode, headers, multiValueHeaders, body,
// isBase64Encoded}, every field optional) leniently, as API Gateway does (docs/aws-compatibility.md):
//
//   - statusCode may be a number or a numeric string ("200", as AWS's own sample returns); missing
//     or null means 200.
//   - isBase64Encoded may be a bool or "true"/"false"; when true the body is base64-decoded.
//   - headers values may be any JSON scalar (stringified); multiValueHeaders add to them.
//   - body should be a string; any other JSON value is sent as its JSON text.
//   - An empty or null result (a handler that returns nothing) is 200 with an empty body.
//   - wsgate's choice for results that are not proxy-shaped [unverified against AWS]: a JSON
//     string result becomes the body (its value); a number, bool or array is sent as its JSON
//     text; an object with none of the five proxy fields is sent whole as the body. This keeps
//     handlers that `return "pong"` or `return {"ok": true}` useful on two-way routes.
//
// A result that is not JSON, or has a statusCode that is not a number in 100..599, or a body that
// is not valid base64 while isBase64Encoded says so, is an error: the integration failed.
func parseProxyResult(out []byte) (*Response, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 || string(out) == "null" {
		return &Response{StatusCode: http.StatusOK, Header: http.Header{}}, nil
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("invalid result: not JSON: %s", short(out))
	}
	if out[0] != '{' {
		body := out
		if out[0] == '"' {
			var s string
			if err := json.Unmarshal(out, &s); err != nil {
				return nil, fmt.Errorf("invalid result: %w", err)
			}
			body = []byte(s)
		}
		return &Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: bytes.Clone(body)}, nil
	}
	var raw struct {
		StatusCode        json.RawMessage            `json:"statusCode"`
		Headers           map[string]json.RawMessage `json:"headers"`
		MultiValueHeaders map[string][]any           `json:"multiValueHeaders"`
		Body              json.RawMessage            `json:"body"`
		IsBase64Encoded   json.RawMessage            `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("invalid result: %w (want {\"statusCode\": 200, \"body\": \"...\"})", err)
	}
	if raw.StatusCode == nil && raw.Headers == nil && raw.MultiValueHeaders == nil && raw.Body == nil && raw.IsBase64Encoded == nil && !hasProxyKey(out) {
		return &Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: bytes.Clone(out)}, nil
	}
	r := &Response{StatusCode: http.StatusOK, Header: make(http.Header, len(raw.Headers)+len(raw.MultiValueHeaders))}
	if code, ok, err := lenientInt(raw.StatusCode); err != nil {
		return nil, fmt.Errorf("invalid result: statusCode: %w", err)
	} else if ok {
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("invalid result: statusCode %d is not an HTTP status (100..599)", code)
		}
		r.StatusCode = code
	}
	for k, v := range raw.Headers {
		r.Header.Add(k, scalarString(v))
	}
	for k, vs := range raw.MultiValueHeaders {
		ck := http.CanonicalHeaderKey(k)
		if _, dup := raw.Headers[k]; dup {
			// The single-value header is the same header; multiValueHeaders wins, as on AWS.
			r.Header.Del(ck)
		}
		for _, v := range vs {
			r.Header.Add(ck, anyString(v))
		}
	}
	b64, err := lenientBool(raw.IsBase64Encoded)
	if err != nil {
		return nil, fmt.Errorf("invalid result: isBase64Encoded: %w", err)
	}
	var body []byte
	if len(raw.Body) > 0 && string(raw.Body) != "null" {
		if raw.Body[0] == '"' {
			var s string
			if err := json.Unmarshal(raw.Body, &s); err != nil {
				return nil, fmt.Errorf("invalid result: body: %w", err)
			}
			body = []byte(s)
		} else {
			body = bytes.Clone(raw.Body)
		}
	}
	if b64 && len(body) > 0 {
		d, err := base64.StdEncoding.DecodeString(string(body))
		if err != nil {
			return nil, fmt.Errorf("invalid result: isBase64Encoded is true but body is not base64: %w", err)
		}
		body = d
	}
	r.Body = body
	return r, nil
}

// hasProxyKey catches an object whose proxy fields are all null ({"body": null}): still a proxy
// result, not a bare object to send whole.
func hasProxyKey(out []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(out, &m) != nil {
		return false
	}
	for _, k := range []string{"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// lenientInt reads a JSON number or numeric string; ok is false for missing/null.
func lenientInt(v json.RawMessage) (n int, ok bool, err error) {
	if len(v) == 0 || string(v) == "null" {
		return 0, false, nil
	}
	s := string(v)
	if v[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, false, err
		}
		s = strings.TrimSpace(s)
	}
	n, err = strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int(f)) {
			return 0, false, fmt.Errorf("%s is not an integer status code", short(v))
		}
		n = int(f)
	}
	return n, true, nil
}

// lenientBool reads true/false or "true"/"false" (any case); missing/null is false.
func lenientBool(v json.RawMessage) (bool, error) {
	if len(v) == 0 || string(v) == "null" {
		return false, nil
	}
	s := string(v)
	if v[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return false, err
		}
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf("%s is not true or false", short(v))
	}
	return b, nil
}

// scalarString renders a header value: strings as is, other JSON as its text.
func scalarString(v json.RawMessage) string {
	if len(v) > 0 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	if string(v) == "null" {
		return ""
	}
	return string(v)
}

func anyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// short quotes at most 100 bytes of b for an error message.
func short(b []byte) string {
	if len(b) > 100 {
		return strconv.Quote(string(b[:100])) + "..."
	}
	return strconv.Quote(string(b))
}
