package cfn

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/templates")

const goldenDir = "../../testdata/templates"

// goldenCase is one testdata/templates/<case> directory.
type goldenCase struct {
	name, dir, template string
	opts                Options
}

func goldenCases(t testing.TB) []goldenCase {
	t.Helper()
	dirs, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		c := goldenCase{name: d.Name(), dir: filepath.Join(goldenDir, d.Name())}
		for _, f := range []string{"template.yaml", "template.json"} {
			if _, err := os.Stat(filepath.Join(c.dir, f)); err == nil {
				c.template = filepath.Join(c.dir, f)
			}
		}
		if c.template == "" {
			t.Fatalf("%s: no template.yaml or template.json", c.dir)
		}
		if b, err := os.ReadFile(filepath.Join(c.dir, "params.json")); err == nil {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c.opts); err != nil {
				t.Fatalf("%s/params.json: %v", c.dir, err)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// renderWarnings is the warnings.txt form: one per line, blocking ones marked.
func renderWarnings(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		if w.Blocking {
			b.WriteString("[blocking] ")
		}
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(c.template)
			if err != nil {
				t.Fatal(err)
			}
			cfg, warns, err := Import(filepath.Base(c.template), data, c.opts)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			out, err := config.Marshal(cfg)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			checkGolden(t, filepath.Join(c.dir, "wsgate.yaml"), out)
			checkGolden(t, filepath.Join(c.dir, "warnings.txt"), []byte(renderWarnings(warns)))

			// The output must be a config wsgate loads, unless a blocking warning says why not.
			blocking := false
			for _, w := range warns {
				blocking = blocking || w.Blocking
			}
			_, perr := config.Parse("wsgate.yaml", out)
			switch {
			case blocking && perr == nil:
				t.Errorf("a blocking warning was reported, but the config loads: %v", warns)
			case !blocking && perr != nil:
				t.Errorf("imported config does not load: %v\n%s", perr, out)
			}
		})
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cfn -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test ./internal/cfn -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
