package management

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestNotServedPaths: requests that are not management calls get AWS's JSON answer for them,
// with a request id, and reach nothing: 403 Forbidden for a wrong stage or a path with no "@"
// resource (aws-sdk-php#3103, #1955; dotNetify's Connection URL without its trailing slash),
// 404 NotFoundException for a resource further down the path, as a doubled stage gives
// (aws-sdk-php#3040).
func TestNotServedPaths(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			b := extBackend()
			srv := startServer(t, b, m.signed)
			cases := []struct {
				method, path string
				status       int
				typ, wantMsg string
			}{
				{"POST", "/dev/" + idA1, 403, "ForbiddenException", "Forbidden"},
				{"GET", "/dev", 403, "ForbiddenException", "Forbidden"},
				{"GET", "/dev/chat/room", 403, "ForbiddenException", "Forbidden"},
				{"POST", "/prod/@connections/" + idA1, 403, "ForbiddenException", "Forbidden"},
				{"POST", "/@connections/" + idA1, 403, "ForbiddenException", "Forbidden"},
				{"POST", "/", 403, "ForbiddenException", "Forbidden"},
				{"POST", "/dev/dev/@connections/AAAAAAAAAAAAAAA%3D", 404, "NotFoundException",
					"No method found matching route dev/@connections/AAAAAAAAAAAAAAA= for http method POST."},
				{"GET", "/dev/x/%40users/ann", 404, "NotFoundException",
					"No method found matching route x/@users/ann for http method GET."},
			}
			for _, c := range cases {
				req, _ := http.NewRequest(c.method, srv.URL+c.path, bytes.NewReader([]byte("x")))
				if m.signed {
					sign(t, req, []byte("x"))
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				t.Run(c.method+" "+c.path, func(t *testing.T) {
					checkError(t, resp, c.status, c.typ, c.wantMsg)
				})
			}
			if got := b.messages(idA1); len(got) != 0 {
				t.Fatalf("a request that is not a management call reached the backend: %q", got)
			}
		})
	}
}

// TestDoubleSlashIsServed: the JavaScript SDK v3, given an endpoint ending in "/", sends
// "/dev//@connections/{id}" and signs it with the slashes collapsed (@smithy/signature-v4
// getCanonicalPath; botocore does the same, TestBotocoreDoubleSlash in internal/server). AWS
// normalises the path the same way for its signature check, and the call is served: never a
// redirect (Go's ServeMux would answer 307), never a refusal.
func TestDoubleSlashIsServed(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			b := extBackend()
			srv := startServer(t, b, m.signed)
			body := []byte("through //")
			req, _ := http.NewRequest("POST", srv.URL+"/dev/@connections/"+idA1, bytes.NewReader(body))
			if m.signed {
				sign(t, req, body) // over the normalised path, as the JS SDK signs it
			}
			req.URL.Path, req.URL.RawPath = "/dev//@connections/"+idA1, "" // and sent with "//"
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST /dev//@connections/{id} = %d, want 200", resp.StatusCode)
			}
			if got := b.messages(idA1); len(got) != 1 || string(got[0]) != string(body) {
				t.Fatalf("delivered %q, want [%q]", got, body)
			}
		})
	}
}

// TestIsConnectPath: the one rule that decides which upgrades reach the gateway.
func TestIsConnectPath(t *testing.T) {
	h := New(Options{Stage: "dev", Backend: okBackend{}})
	for p, want := range map[string]bool{
		"/dev": true, "/dev/": true, "/dev/chat/room": true, "/d%65v/x": true, "/dev//x": true,
		"/dev/x/@connections/y": true, // an upgrade may use any URL-path extension
		"/dev/@connections/x":   false, "/dev/%40connections/x": false, "/dev//@users": false,
		"/dev/@anything": false, "/prod": false, "/": false, "": false, "/devx": false,
	} {
		if got := h.IsConnectPath(p); got != want {
			t.Errorf("IsConnectPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// sign signs req with testKeyID/testSecret as the SDK's v4.Signer does.
func sign(t testing.TB, req *http.Request, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
		"execute-api", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
}
