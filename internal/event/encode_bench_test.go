package event_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/event"
)

// benchMessageEvent is what an AWS_PROXY (Lambda) integration encodes for every message: a
// MESSAGE event with a ~200-byte JSON body and an authorizer context.
func benchMessageEvent() *event.Event {
	at := time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)
	rc := event.RequestContext{
		RouteKey: "sendmessage", MessageID: "Dwz4leekPHcCG6Q=", EventType: event.Message, Stage: "dev",
		ConnectedAt: event.Millis(at.Add(-time.Minute)), Identity: event.Identity{SourceIP: "192.0.2.10",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"},
		DomainName: "ws.example.com", ConnectionID: "Zp3xAbCdEfGhIjk=", APIID: "wsgate",
		Authorizer: map[string]any{"principalId": "user-42", "tenant": "acme"}, UserID: "user-42",
	}
	rc.StampRequest(at)
	return &event.Event{
		RequestContext: rc,
		Body: `{"action":"sendmessage","data":{"room":"lobby","text":"hello everyone, how is it going today?",` +
			`"meta":{"type":"chat","client":"web-1.4.2"}},"id":"6f1c9a2e-3b7d-4c55-9d2e-1a2b3c4d5e6f"}`,
		Path: "/",
	}
}

// BenchmarkEncodeMessageEvent is the encoding every Lambda-bound message pays (json.Marshal,
// as internal/integration does). Its cost is small next to the HTTP round trip to the function:
// measured to decide whether a hand-written encoder is worth having (see docs/benchmarks.md).
func BenchmarkEncodeMessageEvent(b *testing.B) {
	ev := benchMessageEvent()
	out, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeConnectEvent encodes a CONNECT event with a browser's handshake headers.
func BenchmarkEncodeConnectEvent(b *testing.B) {
	ev := benchMessageEvent()
	ev.Body = ""
	ev.RequestContext.RouteKey, ev.RequestContext.EventType, ev.RequestContext.MessageID = event.RouteConnect, event.Connect, ""
	ev.Headers = map[string]string{
		"Host": "ws.example.com", "Origin": "https://app.example.com", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
		"User-Agent": ev.RequestContext.Identity.UserAgent, "Accept-Language": "en-US,en;q=0.9",
		"Cache-Control": "no-cache", "Pragma": "no-cache", "X-Forwarded-For": "192.0.2.10",
		"X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
	}
	ev.MultiValueHeaders = map[string][]string{}
	for k, v := range ev.Headers {
		ev.MultiValueHeaders[k] = []string{v}
	}
	ev.QueryStringParameters = map[string]string{"token": "eyJhbGciOiJIUzI1NiJ9.e30.x"}
	ev.MultiValueQueryStringParameters = map[string][]string{"token": {"eyJhbGciOiJIUzI1NiJ9.e30.x"}}
	out, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFormatRequestTime is the requestTime every message's context carries
// (2026-11-29: 124 ns against 343 ns for time.Format with RequestTimeLayout, one allocation each).
func BenchmarkFormatRequestTime(b *testing.B) {
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		_ = event.FormatRequestTime(now)
	}
}
