package server

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
)

// Every top-level key that Reload does not apply is reported when it changes, and the live
// ones are not: a key added to the config is restart-only until Reload applies it.
func TestRestartOnlyKeys(t *testing.T) {
	base := config.Default()
	next := config.Default()
	if got := restartOnly(base, next); len(got) != 0 {
		t.Fatalf("identical configs: %v", got)
	}
	next.Listen = "127.0.0.1:9"
	next.Stage = "prod"
	next.Limits.IdleTimeout += 1e9                     // live
	next.Limits.MessageBytes += 1                      // sizes the event loop's buffers: restart
	next.Limits.AllowBinary = !next.Limits.AllowBinary // live
	next.Store.Type = "redis"
	next.Routes = nil                // live
	next.Region = "eu-west-1"        // live
	next.Shutdown.GracePeriod += 1e9 // live (read at stop)
	next.Management.Credentials = []config.Credential{{AccessKeyID: "a", SecretAccessKey: "b"}}
	got := restartOnly(base, next)
	if want := []string{"listen", "stage", "store", "limits.messageBytes"}; !slices.Equal(got, want) {
		t.Errorf("restartOnly = %v, want %v", got, want)
	}
	// Every live key names a real config key.
	yamlKeys := map[string]bool{}
	ct := reflect.TypeFor[config.Config]()
	for i := range ct.NumField() {
		if tag := ct.Field(i).Tag.Get("yaml"); tag != "" {
			k, _, _ := strings.Cut(tag, ",")
			yamlKeys[k] = true
		}
	}
	for k := range liveKeys {
		if !yamlKeys[k] {
			t.Errorf("liveKeys names %q, which is not a config key", k)
		}
	}
}
