package functions

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/wsgate/wsgate/internal/config"
)

// MaxUnzippedBytes is Lambda's limit on a function's unzipped code (250 MB); a larger .zip is
// refused rather than filling the disk.
const MaxUnzippedBytes = 250 << 20

// FromConfig returns the specs of a config's functions: section. Relative code paths are
// resolved against the config file's directory (the working directory for a config built in
// code, such as a template's).
func FromConfig(cfg *config.Config) []Spec {
	base := "."
	if cfg.File() != "" {
		base = filepath.Dir(cfg.File())
	}
	specs := make([]Spec, 0, len(cfg.Functions))
	for name, f := range cfg.Functions {
		sp := Spec{
			Name: name, Runtime: f.Runtime, Handler: f.Handler, Timeout: f.Timeout.D(), MemoryMB: f.MemorySize,
			Environment: f.Environment, Concurrency: f.Concurrency, BuildMethod: f.BuildMethod, InlineCode: f.InlineCode,
		}
		if f.CodeURI != "" {
			p := f.CodeURI
			if !filepath.IsAbs(p) {
				p = filepath.Join(base, p)
			}
			if strings.EqualFold(filepath.Ext(p), ".zip") {
				sp.Zip = p
			} else {
				sp.CodeDir = p
			}
		}
		specs = append(specs, sp)
	}
	return specs
}

// prepare puts a spec's code where it can run: inline code and .zip files into dir/code/NAME,
// and sets up a go1.x build into dir/build/NAME/bootstrap.
func prepare(dir string, sp Spec) (Spec, error) {
	codeDir := filepath.Join(dir, "code", sp.Name)
	switch {
	case sp.InlineCode != "":
		file := "index.js"
		if pythonRE.MatchString(sp.Runtime) {
			file = "index.py"
		}
		if err := os.MkdirAll(codeDir, 0o755); err != nil {
			return sp, fmt.Errorf("function %s: %w", sp.Name, err)
		}
		if err := os.WriteFile(filepath.Join(codeDir, file), []byte(sp.InlineCode), 0o644); err != nil {
			return sp, fmt.Errorf("function %s: inline code: %w", sp.Name, err)
		}
		sp.CodeDir = codeDir
	case sp.Zip != "":
		if err := os.RemoveAll(codeDir); err != nil {
			return sp, fmt.Errorf("function %s: %w", sp.Name, err)
		}
		if err := unzip(sp.Zip, codeDir); err != nil {
			return sp, fmt.Errorf("function %s: CodeUri %s: %w", sp.Name, sp.Zip, err)
		}
		sp.CodeDir = codeDir
	}
	switch sp.BuildMethod {
	case "":
	case "go1.x":
		if _, err := exec.LookPath("go"); err != nil {
			return sp, fmt.Errorf("function %s (BuildMethod go1.x) needs go, which is not on PATH: install Go, or build the bootstrap yourself and drop BuildMethod", sp.Name)
		}
		out := filepath.Join(dir, "build", sp.Name, "bootstrap")
		sp.build = []string{"go", "build", "-o", out, "."}
		sp.bootstrap = out
		if sp.Runtime == "go1.x" {
			sp.bootstrap = filepath.Join(dir, "build", sp.Name, cmpOr(sp.Handler, "bootstrap"))
			sp.build = []string{"go", "build", "-o", sp.bootstrap, "."}
		}
	default:
		return sp, fmt.Errorf("function %s: BuildMethod %s: wsgate builds go1.x only; build the code yourself", sp.Name, sp.BuildMethod)
	}
	return sp, nil
}

// unzip extracts a code .zip into dir, refusing entries that leave dir and archives that unzip
// to more than MaxUnzippedBytes.
func unzip(file, dir string) error {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return err
	}
	defer zr.Close()
	var total int64
	for _, zf := range zr.File {
		name := filepath.FromSlash(zf.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("entry %q leaves the code directory", zf.Name)
		}
		target := filepath.Join(dir, name)
		if zf.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := zf.Mode().Perm() | 0o600
		if zf.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("entry %q is a symbolic link; wsgate does not extract links", zf.Name)
		}
		n, err := extract(zf, target, mode, MaxUnzippedBytes-total)
		total += n
		if err != nil {
			return err
		}
	}
	return nil
}

var errTooBig = errors.New("the code unzips to more than 250 MB (Lambda's limit)")

func extract(zf *zip.File, target string, mode os.FileMode, room int64) (int64, error) {
	r, err := zf.Open()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	w, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, io.LimitReader(r, room+1))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > room {
		err = errTooBig
	}
	return n, err
}
