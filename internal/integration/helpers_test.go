package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

var testNow = time.Date(2024, 1, 20, 11, 55, 0, 0, time.UTC)

func baseContext(eventType, routeKey string) event.RequestContext {
	rc := event.RequestContext{
		RouteKey:     routeKey,
		EventType:    eventType,
		Stage:        "dev",
		ConnectedAt:  event.Millis(testNow),
		Identity:     event.Identity{SourceIP: "203.0.113.7"},
		DomainName:   "ws.example.com",
		ConnectionID: "Dwz4leekPHcCG6Q=",
		APIID:        "api1",
	}
	rc.StampRequest(testNow)
	return rc
}

func connectEvent() *event.Event {
	return &event.Event{
		Headers: map[string]string{
			"Host":                     "ws.example.com",
			"Origin":                   "https://app.example.com",
			"Sec-WebSocket-Key":        "dGhlIHNhbXBsZSBub25jZQ==",
			"Sec-WebSocket-Version":    "13",
			"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
			"Connection":               "Upgrade",
			"Upgrade":                  "websocket",
			"X-Forwarded-For":          "198.51.100.1",
			"User-Agent":               "Mozilla/5.0",
			"x-custom":                 "abc",
		},
		QueryStringParameters: map[string]string{"token": "t0k", "room": "42"},
		RequestContext:        baseContext(event.Connect, event.RouteConnect),
		Path:                  "/rooms/42",
	}
}

func messageEvent(body string) *event.Event {
	rc := baseContext(event.Message, event.RouteDefault)
	rc.MessageID = "R1knPc2ntjMCFIA="
	return &event.Event{RequestContext: rc, Body: body, Path: "/rooms/42"}
}

func disconnectEvent() *event.Event {
	rc := baseContext(event.Disconnect, event.RouteDisconnect)
	rc.SetDisconnect(1001, "Going away")
	return &event.Event{
		Headers:        map[string]string{"Host": "ws.example.com", "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""},
		RequestContext: rc,
		Path:           "/rooms/42",
	}
}

// received is one request as an HTTP backend saw it.
type received struct {
	Method, Path, RawQuery string
	Header                 http.Header
	ContentLength          int64
	TransferEncoding       []string
	Body                   []byte
	Host, RequestURI       string
}

// backend is a real HTTP server that records each request and answers with status/header/body.
type backend struct {
	*httptest.Server
	got    chan received
	status int
	header http.Header
	body   string
}

func startBackend(t *testing.T, status int, body string) *backend {
	t.Helper()
	b := &backend{got: make(chan received, 16), status: status, body: body, header: http.Header{}}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		b.got <- received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), r.ContentLength, r.TransferEncoding, data, r.Host, r.RequestURI}
		for k, v := range b.header {
			w.Header()[k] = v
		}
		w.WriteHeader(b.status)
		io.WriteString(w, b.body)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-b.got:
		return r
	default:
		t.Fatal("backend received no request")
		return received{}
	}
}

func mustNew(t *testing.T, cfg config.Integration, o Options) Integration {
	t.Helper()
	in, err := New("test", cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return in
}

func mustInvoke(t *testing.T, in Integration, ev *event.Event) *Response {
	t.Helper()
	r, err := in.Invoke(context.Background(), ev)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return r
}

type evt = event.Event
