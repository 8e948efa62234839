package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/server/servertest"
)

// pathsAPI answers {"action":"whoami"} in process and signs management with the test keys.
const pathsAPI = mgmtCredentials + `
routes:
  whoami: { integration: whoami, routeResponse: true }
integrations:
` + whoamiIntegration

// TestRequestsThatAreNotUpgrades: through the node's real listener and mux, a request that is
// neither a WebSocket upgrade nor a management call gets AWS's JSON answer with a request id,
// never 426 or a redirect; "/dev//@connections/{id}" is served (issue 13 §2).
func TestRequestsThatAreNotUpgrades(t *testing.T) {
	n := servertest.Start(t, pathsAPI)
	c := dial(t, n.WS("/dev"))
	id, _ := whoami(t, c)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, tc := range []struct {
		method, path, typ, msg string
		status                 int
	}{
		// What a dotNetify server whose Connection URL lacks the trailing "/" sends.
		{"POST", "/dev/" + id, "ForbiddenException", `{"message":"Forbidden"}`, 403},
		{"GET", "/dev", "ForbiddenException", `{"message":"Forbidden"}`, 403},
		{"GET", "/dev/rooms/1", "ForbiddenException", `{"message":"Forbidden"}`, 403},
		{"POST", "/other/@connections/" + id, "ForbiddenException", `{"message":"Forbidden"}`, 403},
		{"GET", "/", "ForbiddenException", `{"message":"Forbidden"}`, 403},
		{"GET", "//healthz", "ForbiddenException", `{"message":"Forbidden"}`, 403},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+n.Addr+tc.path, strings.NewReader("x"))
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.typ || string(body) != tc.msg ||
			resp.Header.Get("x-amzn-RequestId") == "" {
			t.Errorf("%s %s = %d %q %s (request id %q), want %d %s %s with a request id", tc.method, tc.path,
				resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, resp.Header.Get("x-amzn-RequestId"),
				tc.status, tc.typ, tc.msg)
		}
	}

	// A doubled stage (an SDK endpoint that already ends in the stage, aws-sdk-php#3040), signed.
	r := mgmt(t, n, "POST", "/dev/@connections/"+id, "x")
	want := `{"message":"No method found matching route dev/@connections/` + id + ` for http method POST."}`
	if r.status != 404 || r.header.Get("X-Amzn-ErrorType") != "NotFoundException" || string(r.body) != want {
		t.Errorf("POST /dev/dev/@connections/{id} = %d %q %s, want 404 NotFoundException %s",
			r.status, r.header.Get("X-Amzn-ErrorType"), r.body, want)
	}

	// A WebSocket upgrade to another stage is refused with the same answer.
	if _, resp, err := tryDial(n.WS("/other")); err == nil || resp == nil || resp.StatusCode != 403 ||
		resp.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("upgrade to another stage: %v %v, want 403 with a request id", err, resp)
	}

	// The node's own paths still answer, and only clean.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := noRedirect.Get("http://" + n.Addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", p, resp.StatusCode)
		}
	}

	// "//" before @connections (the JS SDK v3 with an endpoint ending in "/") is served, and the
	// push reaches the socket: signed over the normalised path, as that SDK signs it.
	r = mgmtSigned(t, n, "POST", "/@connections/"+id, "via //", true, withWirePath("/dev//@connections/"+id))
	if r.status != 200 {
		t.Fatalf("POST /dev//@connections/{id} = %d %s, want 200", r.status, r.body)
	}
	if got := read(t, c); got != "via //" {
		t.Fatalf("pushed frame = %q", got)
	}
}

// TestBotocoreDoubleSlash: botocore's own SigV4 signer (the one the AWS CLI and boto3 use)
// signs "/dev//@connections/{id}" with the slashes collapsed, and the node serves the call.
func TestBotocoreDoubleSlash(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	if err := exec.Command("python3", "-c", "import botocore").Run(); err != nil {
		t.Skip("botocore not installed for python3 (pip install botocore)")
	}
	n := servertest.Start(t, pathsAPI)
	c := dial(t, n.WS("/dev"))
	id, _ := whoami(t, c)
	script := `
import json, sys, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.load(sys.stdin)
req = AWSRequest(method="POST", url=a["url"], data=a["body"].encode())
SigV4Auth(Credentials(a["akid"], a["secret"]), "execute-api", "us-east-1").add_auth(req)
p = req.prepare()
try:
    r = urllib.request.urlopen(urllib.request.Request(p.url, data=p.body, headers=dict(p.headers), method="POST"))
    print(r.status)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
`
	in, _ := json.Marshal(map[string]string{"url": "http://" + n.Addr + "/dev//@connections/" + id,
		"body": "from botocore", "akid": testAKID, "secret": testSecretKey})
	cmd := exec.Command("python3", "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "200" {
		t.Fatalf("botocore-signed POST /dev//@connections/{id}: %s, want 200", got)
	}
	if got := read(t, c); got != "from botocore" {
		t.Fatalf("pushed frame = %q", got)
	}
}
