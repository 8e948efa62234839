package authorizer

import (
	"slices"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

var identityCases = []struct {
	name    string
	sources []string
	query   map[string]string
	headers map[string]string
	want    []string // nil: not ok
}{
	{"header exact", []string{"route.request.header.Authorization"}, nil, map[string]string{"Authorization": "t"}, []string{"t"}},
	{"header any case", []string{"route.request.header.authorization"}, nil, map[string]string{"AUTHORIZATION": "t"}, []string{"t"}},
	{"http api spelling", []string{"$request.header.X-Token", "$request.querystring.a"}, map[string]string{"a": "1"}, map[string]string{"x-token": "t"}, []string{"t", "1"}},
	{"query", []string{"route.request.querystring.Authorization"}, map[string]string{"Authorization": "q"}, nil, []string{"q"}},
	{"query is case-sensitive", []string{"route.request.querystring.Authorization"}, map[string]string{"authorization": "q"}, nil, nil},
	{"stage variable", []string{"stageVariables.env"}, nil, nil, []string{"test"}},
	{"missing stage variable", []string{"stageVariables.nope"}, nil, nil, nil},
	{"context", []string{"context.connectionId", "context.identity.sourceIp"}, nil, nil, []string{"Dwz4leekPHcCG6Q=", "127.0.0.1"}},
	{"several in order", []string{"route.request.querystring.b", "route.request.header.A"}, map[string]string{"b": "2"}, map[string]string{"A": "1"}, []string{"2", "1"}},
	{"one missing", []string{"route.request.querystring.b", "route.request.header.A"}, map[string]string{"b": "2"}, nil, nil},
	{"empty value", []string{"route.request.header.A"}, nil, map[string]string{"A": ""}, nil},
	{"unknown source", []string{"route.request.body.x"}, nil, nil, nil},
	{"no name", []string{"route.request.header."}, nil, nil, nil},
	{"none", nil, nil, nil, nil},
}

func TestIdentityValues(t *testing.T) {
	for _, tc := range identityCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := IdentityValues(tc.sources, connectEvent(tc.query, tc.headers), map[string]string{"env": "test"})
			if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q ok=%v, want %q", got, ok, tc.want)
			}
		})
	}
}

func TestIdentityValuesRepeated(t *testing.T) {
	ev := connectEvent(map[string]string{"t": "b"}, nil)
	ev.MultiValueQueryStringParameters["t"] = []string{"a", "b"}
	ev.MultiValueHeaders["x-auth"] = []string{"1", "2"}
	ev.Headers["x-auth"] = "2"
	got, ok := IdentityValues([]string{"route.request.querystring.t", "route.request.header.X-Auth"}, ev, nil)
	if !ok || !slices.Equal(got, []string{"a,b", "1,2"}) {
		t.Fatalf("got %q ok=%v", got, ok)
	}
	// Header values only in the multi-value map still count.
	ev = &event.Event{MultiValueHeaders: map[string][]string{"Auth": {"z"}}}
	if got, ok := IdentityValues([]string{"route.request.header.auth"}, ev, nil); !ok || got[0] != "z" {
		t.Fatalf("got %q ok=%v", got, ok)
	}
}

func TestCacheKeyInjective(t *testing.T) {
	if cacheKey([]string{"a,b", "c"}) == cacheKey([]string{"a", "b,c"}) ||
		cacheKey([]string{"a\x001:b", ""}) == cacheKey([]string{"a", "b"}) {
		t.Fatal("distinct identities share a cache key")
	}
}

// FuzzIdentityValues: any source list and any event contents; never panics, ok means every value
// is non-empty and there is one per source.
func FuzzIdentityValues(f *testing.F) {
	for _, tc := range identityCases {
		var hk, hv, qk, qv string
		for k, v := range tc.headers {
			hk, hv = k, v
		}
		for k, v := range tc.query {
			qk, qv = k, v
		}
		f.Add(strings.Join(tc.sources, "\n"), hk, hv, qk, qv)
	}
	f.Fuzz(func(t *testing.T, sources, hk, hv, qk, qv string) {
		src := strings.Split(sources, "\n")
		ev := connectEvent(map[string]string{qk: qv}, map[string]string{hk: hv})
		vals, ok := IdentityValues(src, ev, map[string]string{"env": "test"})
		if !ok {
			if vals != nil {
				t.Fatalf("not ok but values %q", vals)
			}
			return
		}
		if len(vals) != len(src) {
			t.Fatalf("%d values for %d sources", len(vals), len(src))
		}
		for i, v := range vals {
			if v == "" {
				t.Fatalf("ok with empty value for %q", src[i])
			}
			if checkSource(src[i]) != nil {
				t.Fatalf("ok for a source New refuses: %q", src[i])
			}
		}
	})
}

// The names a Sourced authorizer gives the gateway on every handshake are SourceNames' of its
// sources, worked out once.
func TestSourcedNamesAreSourceNames(t *testing.T) {
	sources := config.StringList{"route.request.header.Authorization", "route.request.querystring.room", "context.sourceIp"}
	for _, cfg := range []config.Authorizer{
		{Type: config.JWT, Secret: "s", IdentitySource: sources},
		{Type: config.Request, IntegrationType: config.HTTP, URI: "http://127.0.0.1:1/auth", IdentitySource: sources},
	} {
		a := mustNew(t, cfg, Options{}).(Sourced)
		h, q, c := a.SourceNames()
		wh, wq, wc := SourceNames(a.IdentitySources())
		if !slices.Equal(h, wh) || !slices.Equal(q, wq) || c != wc || !slices.Equal(h, []string{"authorization"}) || !c {
			t.Errorf("%s: SourceNames() = %q %q %v, want %q %q %v", cfg.Type, h, q, c, wh, wq, wc)
		}
	}
}
