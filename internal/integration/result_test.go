package integration

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

var resultCases = []struct {
	in      string
	status  int
	body    string
	header  http.Header
	wantErr string
}{
	{in: ``, status: 200},
	{in: `null`, status: 200},
	{in: ` {} `, status: 200, body: `{}`},
	{in: `{"statusCode":200}`, status: 200},
	{in: `{"statusCode":"404","body":"x"}`, status: 404, body: "x"},
	{in: `{"statusCode":" 302 "}`, status: 302},
	{in: `{"statusCode":200.0}`, status: 200},
	{in: `{"statusCode":null,"body":"x"}`, status: 200, body: "x"},
	{in: `{"body":null}`, status: 200},
	{in: `{"body":{"a":[1,2]}}`, status: 200, body: `{"a":[1,2]}`},
	{in: `{"body":"aGk=","isBase64Encoded":"TRUE"}`, status: 200, body: "hi"},
	{in: `{"body":"aGk=","isBase64Encoded":"false"}`, status: 200, body: "aGk="},
	{in: `{"body":"","isBase64Encoded":true}`, status: 200},
	{in: `{"headers":{"X-A":"1","X-N":5,"X-B":true,"X-Nil":null}}`, status: 200, header: http.Header{"X-A": {"1"}, "X-N": {"5"}, "X-B": {"true"}, "X-Nil": {""}}},
	{in: `{"headers":{"x-a":"1"},"multiValueHeaders":{"x-a":["2","3"],"X-M":[1]}}`, status: 200, header: http.Header{"X-A": {"2", "3"}, "X-M": {"1"}}},
	{in: `"pong"`, status: 200, body: "pong"},
	{in: `42`, status: 200, body: "42"},
	{in: `[1,"a"]`, status: 200, body: `[1,"a"]`},
	{in: `{"message":"hi"}`, status: 200, body: `{"message":"hi"}`},
	{in: `not json`, wantErr: "not JSON"},
	{in: `{"statusCode":"abc"}`, wantErr: "statusCode"},
	{in: `{"statusCode":99}`, wantErr: "100..599"},
	{in: `{"statusCode":1e9}`, wantErr: "statusCode"},
	{in: `{"statusCode":true}`, wantErr: "statusCode"},
	{in: `{"statusCode":200.5}`, wantErr: "statusCode"},
	{in: `{"isBase64Encoded":"yes"}`, wantErr: "isBase64Encoded"},
	{in: `{"body":"%%%","isBase64Encoded":true}`, wantErr: "not base64"},
	{in: `{"headers":"x"}`, wantErr: "invalid result"},
}

func TestParseProxyResult(t *testing.T) {
	for _, tc := range resultCases {
		r, err := parseProxyResult([]byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if r.StatusCode != tc.status || string(r.Body) != tc.body {
			t.Errorf("%s: got %d %q, want %d %q", tc.in, r.StatusCode, r.Body, tc.status, tc.body)
		}
		want := tc.header
		if want == nil {
			want = http.Header{}
		}
		if !reflect.DeepEqual(r.Header, want) {
			t.Errorf("%s: header %v, want %v", tc.in, r.Header, want)
		}
	}
}

func FuzzParseProxyResult(f *testing.F) {
	for _, tc := range resultCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseProxyResult(b)
		if err != nil {
			if r != nil {
				t.Fatal("result with error")
			}
			return
		}
		if r.StatusCode < 100 || r.StatusCode > 599 || r.Header == nil {
			t.Fatalf("bad response %+v", r)
		}
	})
}
