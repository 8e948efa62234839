package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
)

// BenchmarkHTTPProxyInvoke measures what one MESSAGE costs through HTTP_PROXY against a local
// backend over a kept-alive connection: the gateway's side of a round trip, through the Pool
// (what the server uses for plain http://) and through net/http's client (https://, proxies).
func BenchmarkHTTPProxyInvoke(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	for _, bc := range []struct {
		name string
		o    Options
	}{{"pool", Options{}}, {"client", Options{HTTPClient: DefaultHTTPClient()}}} {
		b.Run(bc.name, func(b *testing.B) {
			in, err := New("bench", config.Integration{
				Type: config.HTTPProxy, URI: srv.URL + "/ws",
				RequestParameters: map[string]string{"integration.request.header.connectionId": "context.connectionId"},
			}, bc.o)
			if err != nil {
				b.Fatal(err)
			}
			ev := messageEvent(`{"action":"send","text":"hello, world"}`)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r, err := in.Invoke(ctx, ev)
				if err != nil || r.StatusCode != 200 {
					b.Fatal(r, err)
				}
			}
		})
	}
}

// BenchmarkParseProxyResult is the per-message cost of reading a Lambda result.
func BenchmarkParseProxyResult(b *testing.B) {
	out := []byte(`{"statusCode":"200","isBase64Encoded":"false","headers":{"Content-Type":"application/json"},"body":"{\"ok\":true,\"n\":42}"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseProxyResult(out); err != nil {
			b.Fatal(err)
		}
	}
}
