package gateway

import (
	"net/http/httptest"
	"reflect"
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
