package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server"
)

// Check and New build through one function: a config that reaches them with faults config
// validation did not see (built in code) fails both with the same errors, every one at once,
// each naming its key.
func TestCheckBuildsWhatServeBuilds(t *testing.T) {
	cfg := config.Default()
	cfg.RouteSelectionExpression = "$request.body."
	cfg.Integrations = map[string]config.Integration{
		"tmpl": {Type: config.HTTP, URI: "https://<your-url-domain>/api/dotnetify/vm", RequestTemplates: map[string]string{"$default": "#if("}},
		"app":  {Type: config.HTTPProxy, URI: "http://127.0.0.1:30x0/ws"},
	}
	cfg.ApplyDefaults()
	checkErr := server.Check(cfg, nil)
	if checkErr == nil {
		t.Fatal("Check passed a config serve cannot run")
	}
	for _, want := range []string{"routeSelectionExpression: ", "integrations.tmpl: ", "integrations.app: ", `port "30x0"`} {
		if !strings.Contains(checkErr.Error(), want) {
			t.Errorf("Check error lacks %q:\n%v", want, checkErr)
		}
	}
	_, newErr := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if newErr == nil || newErr.Error() != checkErr.Error() {
		t.Errorf("New error:\n%v\nwant the same as Check's:\n%v", newErr, checkErr)
	}
}
