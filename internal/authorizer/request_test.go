package authorizer

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

const testArn = "arn:aws:execute-api:eu-west-1:123456789012:api1/prod/$connect"

func requestOptions(clk *testClock) Options {
	return Options{Region: "eu-west-1", AccountID: "123456789012", APIID: "api1", Stage: "prod",
		StageVariables: map[string]string{"env": "test"}, Now: clk.Now}
}

// fnServer is an authorizer function reachable two ways: as a Lambda function behind an Invoke
// API endpoint (as the Runtime Interface Emulator serves it), and as a plain HTTP authorizer.
// answer decides per call; calls and the last event received are recorded.
type fnServer struct {
	*httptest.Server
	mu     sync.Mutex
	answer func(ev map[string]any) (status int, fnErr string, body string)
	last   map[string]any
	calls  counter
	gate   chan struct{} // when set, each call waits for it
}

func newFnServer(t testing.TB) *fnServer {
	s := &fnServer{}
	handle := func(w http.ResponseWriter, r *http.Request, lambda bool) {
		s.calls.inc()
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.last = ev
		answer, gate := s.answer, s.gate
		s.mu.Unlock()
		if gate != nil {
			<-gate
		}
		status, fnErr, body := answer(ev)
		switch {
		case fnErr != "" && lambda:
			// How the Invoke API reports a function that threw: 200 plus X-Amz-Function-Error.
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": fnErr, "errorType": "Error"})
			return
		case fnErr == "Unauthorized": // an HTTP authorizer says so with its status
			status = http.StatusUnauthorized
		case fnErr != "":
			status = http.StatusInternalServerError
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/authfn/invocations", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Invocation-Type") != "RequestResponse" {
			http.Error(w, "want RequestResponse", http.StatusBadRequest)
			return
		}
		handle(w, r, true)
	})
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) { handle(w, r, false) })
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *fnServer) setAnswer(f func(ev map[string]any) (int, string, string)) {
	s.mu.Lock()
	s.answer = f
	s.mu.Unlock()
}

func (s *fnServer) lastEvent() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func policy(effect, resource string, ctx string) string {
	return `{"principalId":"user-42","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"` +
		effect + `","Resource":"` + resource + `"}]},"context":` + ctx + `}`
}

// allowAny admits on any methodArn (for tests with the default Options).
func allowAny(map[string]any) (int, string, string) { return 200, "", policy("Allow", "*", `{}`) }

func allowBody(ctx string) func(map[string]any) (int, string, string) {
	return func(map[string]any) (int, string, string) { return 200, "", policy("Allow", testArn, ctx) }
}

// bothTransports runs f against the Lambda (AWS_PROXY) and HTTP forms of the same function.
func bothTransports(t *testing.T, f func(t *testing.T, srv *fnServer, cfg config.Authorizer)) {
	for _, kind := range []string{config.AWSProxy, config.HTTP} {
		t.Run(kind, func(t *testing.T) {
			srv := newFnServer(t)
			cfg := config.Authorizer{
				Type:            config.Request,
				IdentitySource:  config.StringList{"route.request.header.Auth", "route.request.querystring.room"},
				IntegrationType: kind,
			}
			if kind == config.AWSProxy {
				cfg.URI, cfg.Endpoint = "authfn", srv.URL
			} else {
				cfg.URI = srv.URL + "/authorize"
			}
			f(t, srv, cfg)
		})
	}
}

func withIdentity() (map[string]string, map[string]string) {
	return map[string]string{"room": "42"}, map[string]string{"Auth": "token-1"}
}

func TestRequestAllowWithContext(t *testing.T) {
	bothTransports(t, func(t *testing.T, srv *fnServer, cfg config.Authorizer) {
		srv.setAnswer(allowBody(`{"userId":"u1","n":12,"ok":true,"f":1.5}`))
		cfg.UserIDClaim = "userId"
		a := mustNew(t, cfg, requestOptions(newClock()))
		res, err := a.Authorize(bg, connectEvent(withIdentity()))
		wantStatus(t, res, err, 0)
		if res.PrincipalID != "user-42" || res.UserID != "u1" {
			t.Fatalf("principal %q user %q", res.PrincipalID, res.UserID)
		}
		want := map[string]any{"userId": "u1", "n": int64(12), "ok": true, "f": 1.5, "principalId": "user-42"}
		if len(res.Context) != len(want) {
			t.Fatalf("Context %v, want %v", res.Context, want)
		}
		for k, v := range want {
			if res.Context[k] != v {
				t.Errorf("Context[%q] = %#v, want %#v", k, res.Context[k], v)
			}
		}
	})
}

func TestRequestInputEvent(t *testing.T) {
	bothTransports(t, func(t *testing.T, srv *fnServer, cfg config.Authorizer) {
		srv.setAnswer(allowBody(`{}`))
		a := mustNew(t, cfg, requestOptions(newClock()))
		q, h := withIdentity()
		ev := connectEvent(q, h)
		res, err := a.Authorize(bg, ev)
		wantStatus(t, res, err, 0)
		if res.UserID != "user-42" {
			t.Fatalf("UserID %q, want the principalId without userIdClaim", res.UserID)
		}
		got := srv.lastEvent()
		if got["type"] != "REQUEST" || got["methodArn"] != testArn {
			t.Fatalf("type %v methodArn %v", got["type"], got["methodArn"])
		}
		hdr := got["headers"].(map[string]any)
		for k, v := range map[string]string{"Auth": "token-1", "Connection": "upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
			if hdr[k] != v {
				t.Errorf("headers[%q] = %v, want %q", k, hdr[k], v)
			}
		}
		mvh := got["multiValueHeaders"].(map[string]any)
		if v, _ := mvh["Upgrade"].([]any); len(v) != 1 || v[0] != "websocket" {
			t.Errorf("multiValueHeaders.Upgrade = %v", mvh["Upgrade"])
		}
		if qs := got["queryStringParameters"].(map[string]any); qs["room"] != "42" {
			t.Errorf("queryStringParameters %v", qs)
		}
		if mq := got["multiValueQueryStringParameters"].(map[string]any); mq["room"].([]any)[0] != "42" {
			t.Errorf("multiValueQueryStringParameters %v", mq)
		}
		if sv := got["stageVariables"].(map[string]any); sv["env"] != "test" {
			t.Errorf("stageVariables %v", sv)
		}
		rc := got["requestContext"].(map[string]any)
		if rc["eventType"] != "CONNECT" || rc["routeKey"] != "$connect" || rc["connectionId"] != "Dwz4leekPHcCG6Q=" {
			t.Errorf("requestContext %v", rc)
		}
		if _, ok := rc["authorizer"]; ok {
			t.Error("requestContext.authorizer in the authorizer's own input")
		}
		if b, ok := got["body"]; !ok || b != nil {
			t.Errorf("body = %v (present %v), want null", b, ok)
		}
		if got["isBase64Encoded"] != false {
			t.Errorf("isBase64Encoded %v", got["isBase64Encoded"])
		}
		// The event the gateway goes on to use is not modified.
		if _, ok := ev.Headers["Connection"]; ok {
			t.Error("inputEvent added Connection to the CONNECT event")
		}
	})
}

func TestRequestInputEventNullQuery(t *testing.T) {
	srv := newFnServer(t)
	srv.setAnswer(allowAny)
	cfg := config.Authorizer{Type: config.Request, IntegrationType: config.HTTP, URI: srv.URL + "/authorize"}
	a := mustNew(t, cfg, Options{})
	res, err := a.Authorize(bg, connectEvent(nil, map[string]string{"Authorization": "x"}))
	wantStatus(t, res, err, 0)
	got := srv.lastEvent()
	for _, k := range []string{"queryStringParameters", "multiValueQueryStringParameters"} {
		if v, ok := got[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if sv, ok := got["stageVariables"].(map[string]any); !ok || len(sv) != 0 {
		t.Errorf("stageVariables = %v, want {}", got["stageVariables"])
	}
	if got["methodArn"] != "arn:aws:execute-api:us-east-1:000000000000:wsgate/dev/$connect" {
		t.Errorf("default methodArn %v", got["methodArn"])
	}
}

func TestRequestOutcomes(t *testing.T) {
	type ans = func(map[string]any) (int, string, string)
	fixed := func(status int, fnErr, body string) ans {
		return func(map[string]any) (int, string, string) { return status, fnErr, body }
	}
	cases := []struct {
		name   string
		answer ans
		status int
	}{
		{"deny", fixed(200, "", policy("Deny", testArn, `{}`)), 403},
		{"allow other route", fixed(200, "", policy("Allow", strings.Replace(testArn, "$connect", "$default", 1), `{}`)), 403},
		{"allow other stage wildcard", fixed(200, "", policy("Allow", "arn:aws:execute-api:eu-west-1:123456789012:api1/dev/*", `{}`)), 403},
		{"allow stage wildcard", fixed(200, "", policy("Allow", "arn:aws:execute-api:eu-west-1:123456789012:api1/*", `{}`)), 0},
		{"allow star", fixed(200, "", policy("Allow", "*", `{}`)), 0},
		{"allow ? wildcard", fixed(200, "", policy("Allow", "arn:aws:execute-api:eu-west-?:123456789012:api1/prod/$connect", `{}`)), 0},
		{"allow then deny", fixed(200, "", `{"principalId":"p","policyDocument":{"Statement":[
			{"Action":["execute-api:*"],"Effect":"Allow","Resource":["*"]},
			{"Action":"*","Effect":"Deny","Resource":"`+testArn+`"}]}}`), 403},
		{"single statement object, action list", fixed(200, "", `{"principalId":"p","policyDocument":{"Statement":
			{"Action":["s3:GetObject","execute-api:Invoke"],"Effect":"Allow","Resource":["x","`+testArn+`"]}}}`), 0},
		{"wrong action", fixed(200, "", `{"principalId":"p","policyDocument":{"Statement":[{"Action":"execute-api:ManageConnections","Effect":"Allow","Resource":"*"}]}}`), 403},
		{"empty statement list", fixed(200, "", `{"principalId":"p","policyDocument":{"Statement":[]}}`), 500},
		{"unauthorized function error", fixed(200, "Unauthorized", ""), 401},
		{"other function error", fixed(200, "boom", ""), 500},
		{"unauthorized string", fixed(200, "", `"Unauthorized"`), 401},
		{"garbage", fixed(200, "", `<html>oops</html>`), 500},
		{"no policy", fixed(200, "", `{"principalId":"p"}`), 500},
		{"bad effect", fixed(200, "", policy("Maybe", testArn, `{}`)), 500},
		{"object in context", fixed(200, "", policy("Allow", testArn, `{"a":{"b":1}}`)), 500},
		{"array in context", fixed(200, "", policy("Allow", testArn, `{"a":[1]}`)), 500},
		{"null in context", fixed(200, "", policy("Allow", testArn, `{"a":null}`)), 500},
		{"too large", fixed(200, "", policy("Allow", testArn, `{"a":"`+strings.Repeat("x", MaxResultBytes)+`"}`)), 500},
		{"trailing data", fixed(200, "", policy("Allow", testArn, `{}`)+`{}`), 500},
		{"server error", fixed(502, "", "bad gateway"), 500},
	}
	bothTransports(t, func(t *testing.T, srv *fnServer, cfg config.Authorizer) {
		a := mustNew(t, cfg, requestOptions(newClock()))
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				srv.setAnswer(tc.answer)
				res, err := a.Authorize(bg, connectEvent(withIdentity()))
				wantStatus(t, res, err, tc.status)
			})
		}
	})
}

func TestRequestHTTPStatuses(t *testing.T) {
	srv := newFnServer(t)
	cfg := config.Authorizer{Type: config.Request, IntegrationType: config.HTTP, URI: srv.URL + "/authorize"}
	a := mustNew(t, cfg, Options{})
	for status, want := range map[int]int{401: 401, 403: 403, 404: 500, 500: 500} {
		srv.setAnswer(func(map[string]any) (int, string, string) { return status, "", "" })
		res, err := a.Authorize(bg, connectEvent(nil, map[string]string{"Authorization": "x"}))
		wantStatus(t, res, err, want)
	}
}

func TestRequestMissingIdentityDoesNotCall(t *testing.T) {
	bothTransports(t, func(t *testing.T, srv *fnServer, cfg config.Authorizer) {
		srv.setAnswer(allowBody(`{}`))
		a := mustNew(t, cfg, requestOptions(newClock()))
		for _, ev := range [...][2]map[string]string{
			{nil, nil},
			{{"room": "42"}, nil},
			{nil, {"Auth": "token-1"}},
			{{"room": ""}, {"Auth": "token-1"}},
		} {
			res, err := a.Authorize(bg, connectEvent(ev[0], ev[1]))
			wantStatus(t, res, err, 401)
		}
		if n := srv.calls.get(); n != 0 {
			t.Fatalf("authorizer called %d times for missing identity", n)
		}
		// And with the identity present it is called, so the count above means something.
		res, err := a.Authorize(bg, connectEvent(withIdentity()))
		wantStatus(t, res, err, 0)
		if n := srv.calls.get(); n != 1 {
			t.Fatalf("calls %d, want 1", n)
		}
	})
}

func TestRequestTimeout(t *testing.T) {
	srv := newFnServer(t)
	release := make(chan struct{})
	srv.gate = release
	t.Cleanup(func() { close(release) })
	srv.setAnswer(allowBody(`{}`))
	cfg := config.Authorizer{Type: config.Request, IntegrationType: config.AWSProxy, URI: "authfn", Endpoint: srv.URL,
		Timeout: config.Duration(50 * time.Millisecond)}
	a := mustNew(t, cfg, Options{})
	res, err := a.Authorize(bg, connectEvent(nil, map[string]string{"Authorization": "x"}))
	wantStatus(t, res, err, 500)
}

func TestRequestCache(t *testing.T) {
	bothTransports(t, func(t *testing.T, srv *fnServer, cfg config.Authorizer) {
		clk := newClock()
		cfg.ResultTTL = config.Duration(5 * time.Minute)
		a := mustNew(t, cfg, requestOptions(clk))
		srv.setAnswer(func(ev map[string]any) (int, string, string) {
			if ev["headers"].(map[string]any)["Auth"] == "bad" {
				return 200, "", policy("Deny", testArn, `{}`)
			}
			if ev["headers"].(map[string]any)["Auth"] == "unauth" {
				return 200, "Unauthorized", ""
			}
			return 200, "", policy("Allow", testArn, `{"k":"v"}`)
		})
		q := map[string]string{"room": "42"}
		ev := func(auth string) map[string]string { return map[string]string{"Auth": auth} }

		r1, err := a.Authorize(bg, connectEvent(q, ev("good")))
		wantStatus(t, r1, err, 0)
		r2, err := a.Authorize(bg, connectEvent(q, ev("good")))
		wantStatus(t, r2, err, 0)
		if n := srv.calls.get(); n != 1 {
			t.Fatalf("calls %d after two connects within the TTL, want 1", n)
		}
		if r2.Context["k"] != "v" {
			t.Fatalf("cached context %v", r2.Context)
		}
		// Another identity value (the room) is another cache entry.
		r3, err := a.Authorize(bg, connectEvent(map[string]string{"room": "43"}, ev("good")))
		wantStatus(t, r3, err, 0)
		if n := srv.calls.get(); n != 2 {
			t.Fatalf("calls %d, want 2", n)
		}
		// Denials are cached too; 401s are not.
		for range 2 {
			res, err := a.Authorize(bg, connectEvent(q, ev("bad")))
			wantStatus(t, res, err, 403)
		}
		if n := srv.calls.get(); n != 3 {
			t.Fatalf("calls %d after two denied connects, want 3", n)
		}
		for range 2 {
			res, err := a.Authorize(bg, connectEvent(q, ev("unauth")))
			wantStatus(t, res, err, 401)
		}
		if n := srv.calls.get(); n != 5 {
			t.Fatalf("calls %d after two 401 connects, want 5 (401s are not cached)", n)
		}
		// After the TTL the function is asked again.
		clk.Add(5*time.Minute - time.Second)
		r, err := a.Authorize(bg, connectEvent(q, ev("good")))
		wantStatus(t, r, err, 0)
		if n := srv.calls.get(); n != 5 {
			t.Fatalf("calls %d just before the TTL, want 5", n)
		}
		clk.Add(time.Second)
		r, err = a.Authorize(bg, connectEvent(q, ev("good")))
		wantStatus(t, r, err, 0)
		if n := srv.calls.get(); n != 6 {
			t.Fatalf("calls %d after the TTL, want 6", n)
		}
	})
}

func TestRequestNoCacheByDefault(t *testing.T) {
	srv := newFnServer(t)
	srv.setAnswer(allowAny)
	cfg := config.Authorizer{Type: config.Request, IntegrationType: config.HTTP, URI: srv.URL + "/authorize"}
	a := mustNew(t, cfg, Options{})
	for range 3 {
		res, err := a.Authorize(bg, connectEvent(nil, map[string]string{"Authorization": "x"}))
		wantStatus(t, res, err, 0)
	}
	if n := srv.calls.get(); n != 3 {
		t.Fatalf("calls %d, want 3 (resultTtl 0 = no cache, AWS parity)", n)
	}
}

func TestRequestCoalescesConcurrentMisses(t *testing.T) {
	srv := newFnServer(t)
	release := make(chan struct{})
	srv.gate = release
	srv.setAnswer(allowAny)
	cfg := config.Authorizer{Type: config.Request, IntegrationType: config.HTTP, URI: srv.URL + "/authorize",
		ResultTTL: config.Duration(time.Minute)}
	a := mustNew(t, cfg, Options{})

	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Authorize(bg, connectEvent(nil, map[string]string{"Authorization": "same"}))
			errs <- err
		}()
	}
	// Wait until the one call reached the server and every caller is waiting on it.
	ra := a.(*requestAuth)
	harness.Eventually(t, "the request to reach the authorizer", func() bool {
		ra.flight.mu.Lock()
		defer ra.flight.mu.Unlock()
		return srv.calls.get() == 1 && len(ra.flight.calls) == 1
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := srv.calls.get(); c != 1 {
		t.Fatalf("%d concurrent identical connects made %d calls, want 1", n, c)
	}
}

func TestRequestWaiterHonoursContext(t *testing.T) {
	srv := newFnServer(t)
	release := make(chan struct{})
	srv.gate = release
	defer close(release)
	srv.setAnswer(allowAny)
	cfg := config.Authorizer{Type: config.Request, IntegrationType: config.HTTP, URI: srv.URL + "/authorize",
		ResultTTL: config.Duration(time.Minute)}
	a := mustNew(t, cfg, Options{})
	go func() { _, _ = a.Authorize(bg, connectEvent(nil, map[string]string{"Authorization": "same"})) }()
	harness.Eventually(t, "the first call to reach the authorizer", func() bool { return srv.calls.get() == 1 })
	ctx, cancel := context.WithCancel(bg)
	cancel()
	res, err := a.Authorize(ctx, connectEvent(nil, map[string]string{"Authorization": "same"}))
	wantStatus(t, res, err, 500)
}
