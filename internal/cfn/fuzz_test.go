package cfn

import (
	"os"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
)

// FuzzImport feeds arbitrary templates to Import: it must never panic, must return either a
// config or an *Error, and a returned config must marshal.
func FuzzImport(f *testing.F) {
	for _, c := range goldenCases(f) {
		data, err := os.ReadFile(c.template)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("{\"Resources\": {\"A\": {\"Type\": \"AWS::ApiGatewayV2::Api\", \"Properties\": {\"ProtocolType\": \"WEBSOCKET\"}}}}"))
	f.Add([]byte("Conditions:\n  A: !Condition A\n" + minimal))
	f.Add([]byte(minimal + "  R:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: !Sub ['${a}', {a: !Select [0, !Split [',', 'x,y']]}]}\n"))
	opts := Options{Functions: map[string]string{"EchoFunction": "http://127.0.0.1:1"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, warns, err := Import("f.yaml", data, opts)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			return
		}
		if cfg == nil {
			t.Fatal("nil config without error")
		}
		for _, w := range warns {
			if w.Message == "" {
				t.Fatalf("warning without message: %#v", w)
			}
		}
		if _, err := config.Marshal(cfg); err != nil {
			t.Fatalf("Marshal: %v", err)
		}
	})
}
