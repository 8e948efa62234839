package management

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// checkError asserts the error shape every SDK relies on (docs/aws-compatibility.md): the status,
// X-Amzn-ErrorType, a JSON body holding exactly {"message": ...} (wantMsg, if not ""), a request
// id and Content-Type application/json. It closes resp.Body.
func checkError(t testing.TB, resp *http.Response, status int, typ, wantMsg string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if got := resp.Header.Get("X-Amzn-ErrorType"); got != typ {
		t.Errorf("X-Amzn-ErrorType %q, want %q", got, typ)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q, want application/json", got)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("no x-amzn-RequestId")
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	msg, ok := m["message"].(string)
	if len(m) != 1 || !ok || msg == "" {
		t.Errorf("error body %s, want exactly {\"message\": \"...\"}", body)
	}
	if wantMsg != "" && msg != wantMsg {
		t.Errorf("message %q, want %q", msg, wantMsg)
	}
}

// do sends a request and returns status, body and headers. With signed, the request is signed
// with the SDK's v4.Signer, as a user of the extensions would do (the typed client knows only
// @connections).
func do(t testing.TB, method, url string, body []byte, signed bool) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	if signed {
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
			"execute-api", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("%s %s: no x-amzn-RequestId", method, url)
	}
	if resp.StatusCode >= 300 {
		if resp.Header.Get("X-Amzn-ErrorType") == "" {
			t.Errorf("%s %s: status %d without X-Amzn-ErrorType", method, url, resp.StatusCode)
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		checkError(t, resp, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), "")
	}
	return resp.StatusCode, string(b), resp.Header
}
