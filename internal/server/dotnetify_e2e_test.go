package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// dotNetifyAPI is the routes and HTTP integrations of dotNetify's CloudFormation template
// (docs/aws-compatibility.md), with the backend URL filled in.
const dotNetifyAPI = `
management:
  credentials: [ { accessKeyId: %[2]s, secretAccessKey: "%[3]s" } ]
routes:
  $connect: { integration: ConnectIntegration, routeResponse: true }
  $default: { integration: DefaultIntegration, routeResponse: true }
  $disconnect: { integration: DisconnectIntegration }
integrations:
  ConnectIntegration:
    type: HTTP
    uri: %[1]s/api/dotnetify/vm
    passthroughBehavior: WHEN_NO_MATCH
    templateSelectionExpression: \$default
    requestTemplates: { $default: '{ "connectionId": "$context.connectionId" }' }
    responses: { $default: {} }
  DefaultIntegration:
    type: HTTP
    uri: %[1]s/api/dotnetify/vm
    passthroughBehavior: WHEN_NO_MATCH
    templateSelectionExpression: \$default
    requestTemplates: { $default: '{ "connectionId": "$context.connectionId", "payload": $input.body }' }
    responses: { $default: {} }
  DisconnectIntegration:
    type: HTTP
    uri: %[1]s/api/dotnetify/vm/disconnect
    passthroughBehavior: WHEN_NO_MATCH
    templateSelectionExpression: \$default
    requestTemplates: { $default: '{ "connectionId": "$context.connectionId" }' }
    responses: { $default: {} }
`

// fakeDotNetify stands in for an ASP.NET app with AddDotNetifyIntegrationWebApi: it insists on
// a JSON Content-Type and a Content-Length as [ApiController] and the resiliency middleware
// do, answers 200 with an empty body, and pushes VM updates through @connections the way
// WebApiResponseManager does (raw id appended to the connection URL, SigV4-signed JSON).
type fakeDotNetify struct {
	mu       sync.Mutex
	requests []string // "path body"
	problems []string
	pushes   []int // status of each @connections POST
	gateway  string
}

func (d *fakeDotNetify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	d.requests = append(d.requests, r.URL.Path+" "+string(body))
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
		d.problems = append(d.problems, "Content-Type "+ct)
	}
	if r.ContentLength != int64(len(body)) || len(r.TransferEncoding) > 0 {
		d.problems = append(d.problems, fmt.Sprintf("Content-Length %d for %d bytes (transfer encoding %v)", r.ContentLength, len(body), r.TransferEncoding))
	}
	gw := d.gateway
	d.mu.Unlock()
	if r.URL.Path != "/api/dotnetify/vm" {
		return
	}
	var req struct {
		ConnectionID string `json:"connectionId"`
		Payload      *struct {
			CallType string `json:"callType"`
			VMID     string `json:"vmId"`
			Value    string `json:"value"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.ConnectionID == "" {
		http.Error(w, "bad integration request", http.StatusBadRequest)
		return
	}
	if req.Payload == nil { // $connect
		return
	}
	data := `{"greeting":"hello"}`
	if req.Payload.CallType == "update_vm" {
		data = req.Payload.Value
	}
	push, _ := json.Marshal(map[string]string{"callType": "response_vm", "vmId": req.Payload.VMID, "data": data})
	status := d.post(r.Context(), gw+req.ConnectionID, push)
	d.mu.Lock()
	d.pushes = append(d.pushes, status)
	d.mu.Unlock()
}

// post is WebApiResponseManager's callback: POST {connectionURL}/{raw id}, signed for execute-api.
func (d *fakeDotNetify) post(ctx context.Context, url string, body []byte) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: mgmtKeyID, SecretAccessKey: mgmtSecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, "execute-api", "us-east-1", time.Now()); err != nil {
		return -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -2
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (d *fakeDotNetify) snapshot() (reqs, problems []string, pushes []int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.requests...), append([]string(nil), d.problems...), append([]int(nil), d.pushes...)
}

// dotNetify's template runs unchanged: the backend receives exactly the rendered JSON bodies,
// and VM updates come back through @connections.
func TestDotNetifyHTTPIntegration(t *testing.T) {
	app := &fakeDotNetify{}
	backend := httptest.NewServer(app)
	defer backend.Close()
	n := servertest.Start(t, fmt.Sprintf(dotNetifyAPI, backend.URL, mgmtKeyID, mgmtSecretKey))
	app.mu.Lock()
	app.gateway = "http://" + n.Addr + "/dev/@connections/"
	app.mu.Unlock()

	c := dial(t, n.WS("/dev"))
	reqs, _, _ := app.snapshot()
	if len(reqs) != 1 {
		t.Fatalf("backend requests after connect: %q", reqs)
	}
	var first struct {
		ConnectionID string `json:"connectionId"`
	}
	if err := json.Unmarshal([]byte(reqs[0][len("/api/dotnetify/vm "):]), &first); err != nil {
		t.Fatalf("$connect body %q: %v", reqs[0], err)
	}
	id := first.ConnectionID

	request := `{"callType":"request_vm","vmId":"HelloWorld","vmArgs":"{}"}`
	send(t, c, request)
	if got := read(t, c); got != `{"callType":"response_vm","data":"{\"greeting\":\"hello\"}","vmId":"HelloWorld"}` {
		t.Fatalf("request_vm push = %s", got)
	}
	update := `{"callType":"update_vm","vmId":"HelloWorld","value":"{\"name\":\"Ann\"}"}`
	send(t, c, update)
	if got := read(t, c); got != `{"callType":"response_vm","data":"{\"name\":\"Ann\"}","vmId":"HelloWorld"}` {
		t.Fatalf("update_vm round trip = %s", got)
	}
	_ = c.Close(1000, "")
	harness.Eventually(t, "the disconnect POST", func() bool { r, _, _ := app.snapshot(); return len(r) == 4 })
	// After the close, dotNetify's next push gets 410.
	if st := app.post(context.Background(), "http://"+n.Addr+"/dev/@connections/"+id, []byte(`{}`)); st != http.StatusGone {
		t.Errorf("push after close = %d, want 410", st)
	}

	reqs, problems, pushes := app.snapshot()
	want := []string{
		`/api/dotnetify/vm { "connectionId": "` + id + `" }`,
		`/api/dotnetify/vm { "connectionId": "` + id + `", "payload": ` + request + ` }`,
		`/api/dotnetify/vm { "connectionId": "` + id + `", "payload": ` + update + ` }`,
		`/api/dotnetify/vm/disconnect { "connectionId": "` + id + `" }`,
	}
	for i := range want {
		if reqs[i] != want[i] {
			t.Errorf("backend request %d:\n got %s\nwant %s", i, reqs[i], want[i])
		}
	}
	if len(problems) > 0 {
		t.Errorf("backend would refuse: %q", problems)
	}
	if len(pushes) != 2 || pushes[0] != 200 || pushes[1] != 200 {
		t.Errorf("@connections statuses = %v, want [200 200]", pushes)
	}
}
