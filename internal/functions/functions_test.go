package functions

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/lambda"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

func need(t testing.TB, bin string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not on PATH", bin)
	}
}

// writeFiles makes a code directory from name -> content.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(body, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newSet(t testing.TB, o Options, specs ...Spec) (*Set, *harness.Buffer) {
	t.Helper()
	lb := &harness.Buffer{}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	o.StateDir = t.TempDir()
	s, err := New(specs, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return s, lb
}

func invoke(t *testing.T, f *Function, payload string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.Invoke(ctx, []byte(payload))
}

func fnErr(t *testing.T, err error) *lambda.FunctionError {
	t.Helper()
	var fe *lambda.FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *lambda.FunctionError, got %v", err)
	}
	return fe
}

func errorDoc(t *testing.T, fe *lambda.FunctionError) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fe.Payload, &m); err != nil {
		t.Fatalf("error payload %q: %v", fe.Payload, err)
	}
	return m
}
