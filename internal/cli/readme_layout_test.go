package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README's Layout section names every package under internal/ and cmd/wsgate-bench/internal/
// with its job ("`name`: job" or "`name` (job)", name or parent/name), so a package added
// without a line there fails here.
func TestREADMELayoutNamesEveryPackage(t *testing.T) {
	root := "../.."
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	if i := strings.Index(layout, "\n## "); i >= 0 {
		layout = layout[:i]
	}
	for _, base := range []string{"internal", "cmd/wsgate-bench/internal"} {
		dir := filepath.Join(root, base)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() || path == dir {
				return err
			}
			if d.Name() == "testdata" || !hasGoCode(t, path) {
				return nil
			}
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			name := rel[strings.LastIndex(rel, "/")+1:]
			// registry/internal/cursor is an implementation detail of registry's stores.
			if strings.Contains(rel, "internal/") {
				return nil
			}
			described := func(n string) bool {
				return strings.Contains(layout, "`"+n+"`:") || strings.Contains(layout, "`"+n+"` (")
			}
			if !described(rel) && !described(name) {
				t.Errorf("README.md's Layout does not name %s/%s", base, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// hasGoCode reports whether dir holds a Go file other than a test.
func hasGoCode(t *testing.T, dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			return true
		}
	}
	return false
}
