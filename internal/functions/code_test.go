package functions

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeZip(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "code.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	return p
}

// Code from a .zip CodeUri and from inline code (Code.ZipFile) runs like a directory's.
func TestZipAndInlineCode(t *testing.T) {
	need(t, "node")
	need(t, "python3")
	zipFile := writeZip(t, map[string]string{"lib/h.js": "exports.handler = async () => 'from zip';"})
	s, _ := newSet(t, Options{},
		Spec{Name: "zipped", Runtime: "nodejs20.x", Handler: "lib/h.handler", Zip: zipFile},
		Spec{Name: "inline", Runtime: "python3.12", Handler: "index.handler", InlineCode: "def handler(e, c):\n    return 'inline'\n"},
	)
	for name, want := range map[string]string{"zipped": `"from zip"`, "inline": `"inline"`} {
		f, _ := s.Function(name)
		if out, err := invoke(t, f, `{}`); err != nil || string(out) != want {
			t.Errorf("%s: %s, %v; want %s", name, out, err, want)
		}
	}
}

func TestUnzipRefusesEscapes(t *testing.T) {
	zipFile := writeZip(t, map[string]string{"../evil.js": "x"})
	err := unzip(zipFile, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "leaves the code directory") {
		t.Errorf("unzip: %v", err)
	}
}
