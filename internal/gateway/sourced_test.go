package gateway

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/authorizer"
	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

// TestSourcedConnectEventHoldsTheNamedLines: the CONNECT event a JWT authorizer gets holds the
// lines its identity source names, every spelling and repeat as sent, and nothing else.
func TestSourcedConnectEventHoldsTheNamedLines(t *testing.T) {
	g := newTestGateway(t, Limits{})
	a, err := authorizer.New("jwt", config.Authorizer{Type: config.JWT, Secret: "s",
		IdentitySource: config.StringList{"route.request.header.Authorization", "route.request.querystring.room"}}, authorizer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	r := httptest.NewRequest("GET", "/dev?room=1&room=2&other=x", nil)
	lines := []event.Header{
		{Name: "Host", Value: "example.com"}, {Name: "Connection", Value: "Upgrade"}, {Name: "Upgrade", Value: "websocket"},
		{Name: "Authorization", Value: "Bearer a"}, {Name: "X-Other", Value: "o"}, {Name: "authorization", Value: "Bearer b"},
	}
	c := &Conn{shape: &connShape{g: g, path: "/dev"}}
	ev := c.connectEvent(r, lines, "Root=1-x", time.Now(), newSourceFilter(a.(authorizer.Sourced)))
	if want := map[string]string{"Authorization": "Bearer b"}; !reflect.DeepEqual(ev.Headers, want) {
		t.Errorf("Headers %v, want %v", ev.Headers, want)
	}
	if want := map[string][]string{"Authorization": {"Bearer a", "Bearer b"}}; !reflect.DeepEqual(ev.MultiValueHeaders, want) {
		t.Errorf("MultiValueHeaders %v, want %v", ev.MultiValueHeaders, want)
	}
	if want := map[string][]string{"room": {"1", "2"}}; !reflect.DeepEqual(ev.MultiValueQueryStringParameters, want) {
		t.Errorf("MultiValueQueryStringParameters %v, want %v", ev.MultiValueQueryStringParameters, want)
	}
	if vals, ok := authorizer.IdentityValues(a.(authorizer.Sourced).IdentitySources(), ev, nil); !ok || !reflect.DeepEqual(vals, []string{"Bearer a,Bearer b", "1,2"}) {
		t.Errorf("identity values %q %v", vals, ok)
	}
}

// handshakeCases are handshakes (header lines as sent, a query) for identity sources.
var handshakeCases = []struct {
	lines string // "Name: value" lines
	query string
}{
	{"Authorization: Bearer a", ""},
	{"Authorization: Bearer a\nauthorization: Bearer b\nX-Token: t", "room=1&room=2"},
	{"AUTHORIZATION: x\nX-Other: y", "room="},
	{"Authorization:\nX-Token: t", "other=1"},
	{"Host: h\nX-Forwarded-For: 1.2.3.4\nX-Amzn-Trace-Id: Root=1-x\nConnection: Upgrade", "room=%zz&room=3"},
	{"", ""},
}

var handshakeSources = [][]string{
	{"route.request.header.Authorization"},
	{"route.request.header.authorization", "route.request.querystring.room"},
	{"$request.header.X-Token", "$request.querystring.room"},
	{"route.request.header.Host"},
	{"route.request.header.X-Forwarded-For"},
	{"route.request.header.Connection"},
	{"route.request.header.X-Amzn-Trace-Id"},
	{"route.request.header.Authorization", "context.sourceIp"},
	{"route.request.header.Authorization", "stageVariables.v"},
}

// sameValues fails unless authorizer.HandshakeValues, where it answers, reads what IdentityValues
// reads from the CONNECT event the gateway would have built.
func sameValues(t *testing.T, g *Gateway, sources []string, text, query string) (compared bool) {
	t.Helper()
	var lines []event.Header
	for l := range strings.SplitSeq(text, "\n") {
		if name, value, ok := strings.Cut(l, ":"); ok && name != "" {
			lines = append(lines, event.Header{Name: name, Value: strings.TrimSpace(value)})
		}
	}
	r := httptest.NewRequest("GET", "/dev", nil)
	r.URL.RawQuery = query
	vals, ok := authorizer.HandshakeValues(sources, lines, r.URL.Query)
	if !ok {
		return false // the gateway builds the event
	}
	a, err := authorizer.New("jwt", config.Authorizer{Type: config.JWT, Secret: "s", IdentitySource: sources}, authorizer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c := &Conn{shape: &connShape{g: g, path: "/dev"}}
	ev := c.connectEvent(r, lines, "Root=1-x", time.Now(), newSourceFilter(a.(authorizer.Sourced)))
	want, wok := authorizer.IdentityValues(sources, ev, nil)
	if !wok || !reflect.DeepEqual(vals, want) {
		t.Fatalf("sources %q, lines %q, query %q: HandshakeValues %q, the event's %q (ok %v)", sources, text, query, vals, want, wok)
	}
	return true
}

func TestHandshakeValuesAreTheEventsValues(t *testing.T) {
	g := newTestGateway(t, Limits{})
	compared := 0
	for _, s := range handshakeSources {
		for _, h := range handshakeCases {
			if sameValues(t, g, s, h.lines, h.query) {
				compared++
			}
		}
	}
	if compared != 5 {
		t.Errorf("HandshakeValues answered %d of the cases, want 5 (the others are left to the event)", compared)
	}
	// What a JWT handshake needs is read from the handshake: no event is built.
	if vals, ok := authorizer.HandshakeValues(handshakeSources[1], []event.Header{{Name: "authorization", Value: "Bearer a"}, {Name: "Authorization", Value: "b"}},
		func() url.Values { return url.Values{"room": {"1", "2"}} }); !ok || !reflect.DeepEqual(vals, []string{"Bearer a,b", "1,2"}) {
		t.Fatalf("HandshakeValues %q %v", vals, ok)
	}
}

func FuzzHandshakeValuesAreTheEventsValues(f *testing.F) {
	for _, h := range handshakeCases {
		f.Add(h.lines, h.query, uint8(1))
	}
	g := newTestGateway(f, Limits{})
	f.Fuzz(func(t *testing.T, lines, query string, which uint8) {
		if strings.ContainsAny(query, "#\x00") {
			return
		}
		sameValues(t, g, handshakeSources[int(which)%len(handshakeSources)], lines, query)
	})
}
