package functions

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The runtime clients wsgate ships: they play the part of the runtime images on AWS, loading
// the handler and talking to the Runtime API.
var (
	//go:embed runtime/node/index.mjs
	nodeClient []byte
	//go:embed runtime/python/bootstrap.py
	pythonClient []byte
)

var (
	nodeRE   = regexp.MustCompile(`^nodejs([0-9]+)(\.[0-9x]+)?$`)
	pythonRE = regexp.MustCompile(`^python3(\.[0-9]+)?$`)
)

// family is how a runtime is started.
type family int

const (
	famProvided family = iota // bootstrap executable in CodeDir
	famGo                     // go1.x: the Handler names the executable
	famNode
	famPython
)

// plan is how one function's processes start.
type plan struct {
	fam  family
	argv []string
	env  []string // runtime-specific variables (PYTHONUNBUFFERED...)
	// local is the runtime actually used, for the warning when it differs from the asked one
	// ("nodejs20.x" for the local node v20.20.2).
	local string
}

// runtimes knows the embedded clients' paths and the local interpreters' versions.
type runtimes struct {
	o                Options
	nodeFile, pyFile string
	mu               sync.Mutex
	versions         map[string]string // interpreter -> family name of its version
	warned           map[string]bool
}

func newRuntimes(dir string, o Options) (*runtimes, error) {
	rt := &runtimes{o: o, versions: map[string]string{}, warned: map[string]bool{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("functions: runtime directory: %w", err)
	}
	rt.nodeFile = filepath.Join(dir, "wsgate-node-runtime.mjs")
	rt.pyFile = filepath.Join(dir, "wsgate_python_runtime.py")
	for file, b := range map[string][]byte{rt.nodeFile: nodeClient, rt.pyFile: pythonClient} {
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return nil, fmt.Errorf("functions: write runtime client: %w", err)
		}
	}
	return rt, nil
}

func (rt *runtimes) node() string   { return cmpOr(rt.o.Node, "node") }
func (rt *runtimes) python() string { return cmpOr(rt.o.Python, "python3") }

// plan decides how sp runs. Errors name the function and say what to do instead.
func (rt *runtimes) plan(sp Spec) (plan, error) {
	r := strings.TrimSpace(sp.Runtime)
	switch {
	case r == "provided.al2023" || r == "provided.al2" || r == "provided":
		exe := sp.bootstrap
		if exe == "" {
			exe = filepath.Join(sp.CodeDir, "bootstrap")
		}
		return plan{fam: famProvided, argv: []string{exe}, local: r}, nil
	case r == "go1.x":
		h := cmpOr(sp.Handler, "bootstrap")
		if strings.ContainsAny(h, `/\`) || h == "." || h == ".." {
			return plan{}, fmt.Errorf("function %s: Handler %q: for go1.x name the executable in the code directory (e.g. bootstrap or main)", sp.Name, sp.Handler)
		}
		exe := sp.bootstrap
		if exe == "" {
			exe = filepath.Join(sp.CodeDir, h)
		}
		return plan{fam: famGo, argv: []string{exe}, local: r}, nil
	case nodeRE.MatchString(r):
		bin, err := exec.LookPath(rt.node())
		if err != nil {
			return plan{}, fmt.Errorf("function %s (Runtime %s) needs node, which is not on PATH: install Node.js (apt-get install nodejs) or give --function %s=URL for a Lambda Invoke API endpoint", sp.Name, r, sp.Name)
		}
		if err := handlerShape(sp, "file.function, e.g. index.handler or src/app.handler"); err != nil {
			return plan{}, err
		}
		return plan{fam: famNode, argv: []string{bin, rt.nodeFile}, local: rt.version(bin, "node")}, nil
	case pythonRE.MatchString(r):
		bin, err := exec.LookPath(rt.python())
		if err != nil {
			return plan{}, fmt.Errorf("function %s (Runtime %s) needs python3, which is not on PATH: install Python 3 (apt-get install python3) or give --function %s=URL for a Lambda Invoke API endpoint", sp.Name, r, sp.Name)
		}
		if err := handlerShape(sp, "module.function, e.g. app.lambda_handler"); err != nil {
			return plan{}, err
		}
		return plan{fam: famPython, argv: []string{bin, "-u", rt.pyFile},
			env: []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}, local: rt.version(bin, "python")}, nil
	case r == "":
		return plan{}, fmt.Errorf("function %s: no Runtime; set Runtime (nodejs20.x, python3.12, provided.al2023, go1.x) or give --function %s=URL", sp.Name, sp.Name)
	default:
		return plan{}, fmt.Errorf("function %s: Runtime %s cannot run in wsgate (it runs nodejs*, python3.*, provided.al2023, provided.al2 and go1.x); give --function %s=URL for a Lambda Invoke API endpoint that runs it (such as the Lambda Runtime Interface Emulator)", sp.Name, r, sp.Name)
	}
}

func handlerShape(sp Spec, example string) error {
	base := sp.Handler[strings.LastIndex(sp.Handler, "/")+1:]
	if i := strings.Index(base, "."); i <= 0 || i == len(base)-1 {
		return fmt.Errorf("function %s: Handler %q: write %s", sp.Name, sp.Handler, example)
	}
	return nil
}

// version asks an interpreter for its version once and names it as a Lambda runtime:
// "nodejs20.x" for node v20.20.2, "python3.11" for Python 3.11.7; "" when it cannot tell.
func (rt *runtimes) version(bin, kind string) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if v, ok := rt.versions[bin]; ok {
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	s := strings.TrimSpace(string(bytes.TrimSpace(out)))
	v := ""
	switch kind {
	case "node":
		if m := regexp.MustCompile(`^v([0-9]+)\.`).FindStringSubmatch(s); m != nil {
			v = "nodejs" + m[1] + ".x"
		}
	case "python":
		if m := regexp.MustCompile(`^Python 3\.([0-9]+)`).FindStringSubmatch(s); m != nil {
			v = "python3." + m[1]
		}
	}
	rt.versions[bin] = v
	return v
}

// sameFamilyVersion reports whether asked and local name the same runtime version
// ("nodejs20.x" and "nodejs20.x"; "python3.11" and "python3.11").
func sameFamilyVersion(asked, local string) bool {
	return local == "" || asked == local || strings.TrimSuffix(asked, ".x") == strings.TrimSuffix(local, ".x")
}
