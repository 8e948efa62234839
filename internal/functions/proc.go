package functions

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsgate/wsgate/internal/observe"
)

// proc is one runtime process and the Runtime API endpoint it alone talks to (its own loopback
// listener, so a request's process is known without trusting anything it sends).
type proc struct {
	f         *Function
	gen       int
	cmd       *exec.Cmd
	ln        net.Listener
	srv       *http.Server
	startedAt time.Time

	work       chan *invocation // cap 1: the invocation the next /next returns
	exited     chan struct{}    // closed when the process has exited
	exitErr    error            // set before exited is closed
	initFailed chan struct{}    // closed when the runtime posts /runtime/init/error
	logs       sync.WaitGroup   // stdout and stderr readers

	mu        sync.Mutex
	cur       *invocation // the invocation the runtime holds
	ready     bool        // the runtime called /next once: init is over
	initDur   time.Duration
	initShown bool   // Init Duration went into a REPORT line
	initErr   []byte // the /runtime/init/error body
	killed    bool
	stopOnce  sync.Once

	// Guarded by f.mu.
	lastUsed  time.Time
	forgotten bool
}

// startProc starts a runtime process for generation gen. inv names the request in a start
// failure, which is reported the way Lambda reports it (Runtime.InvalidEntrypoint).
func (f *Function) startProc(gen int, inv *invocation) (*proc, error) {
	if err := f.build(gen); err != nil {
		return nil, fnError("Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: the function's build failed: %v", inv.id, err))
	}
	if f.plan.fam == famProvided || f.plan.fam == famGo {
		if st, err := os.Stat(f.plan.argv[0]); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			what := "is missing"
			if err == nil {
				what = "is not an executable file"
			}
			f.s.log.Error(fmt.Sprintf("function %s: %s %s (Runtime %s runs the bootstrap executable in the code directory; build it, e.g. GOOS=linux go build -o bootstrap)", f.spec.Name, f.plan.argv[0], what, f.spec.Runtime),
				"function", f.spec.Name)
			return nil, fnError("Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: Couldn't find valid bootstrap(s): [%s]", inv.id, f.plan.argv[0]))
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("function %s: runtime API listener: %w", f.spec.Name, err)
	}
	p := &proc{
		f: f, gen: gen, ln: ln, startedAt: time.Now(),
		work: make(chan *invocation, 1), exited: make(chan struct{}), initFailed: make(chan struct{}),
	}
	p.srv = &http.Server{Handler: p.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()

	cmd := exec.Command(f.plan.argv[0], f.plan.argv[1:]...)
	cmd.Dir = f.spec.CodeDir
	cmd.Env = f.environ(ln.Addr().String())
	setProcessGroup(cmd)
	outR, outW, err := os.Pipe()
	if err != nil {
		_ = p.srv.Close()
		return nil, fmt.Errorf("function %s: %w", f.spec.Name, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		_ = p.srv.Close()
		return nil, fmt.Errorf("function %s: %w", f.spec.Name, err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	_ = outW.Close()
	_ = errW.Close()
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		_ = p.srv.Close()
		f.s.log.Error("function runtime did not start", "function", f.spec.Name, "cmd", strings.Join(f.plan.argv, " "), observe.KeyError, err)
		return nil, fnError("Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: %v", inv.id, err))
	}
	p.cmd = cmd
	p.logs.Add(2)
	go p.pump(outR, "stdout")
	go p.pump(errR, "stderr")
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		killed := p.killed
		p.mu.Unlock()
		p.exitErr = err
		close(p.exited)
		_ = p.srv.Close()
		if !killed {
			f.s.log.Warn("function runtime process exited", "function", f.spec.Name, "pid", cmd.Process.Pid, observe.KeyError, exitText(err))
		}
	}()
	return p, nil
}

// environ is the process environment: Lambda's reserved variables over the function's own,
// over the few host variables a local runtime needs to start (PATH, HOME, locale, temp dir,
// AWS_ENDPOINT_URL* for local AWS emulators).
func (f *Function) environ(api string) []string {
	o := f.s.o
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH" || k == "HOME" || k == "LANG" || k == "TMPDIR" || strings.HasPrefix(k, "LC_"),
			strings.HasPrefix(k, "AWS_ENDPOINT_URL"):
			env[k] = v
		}
	}
	if o.CAFile != "" {
		env["NODE_EXTRA_CA_CERTS"] = o.CAFile
		for _, k := range []string{"AWS_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"} {
			env[k] = cmpOr(o.CABundle, o.CAFile)
		}
	}
	// The gateway's own AWS endpoints (aws.endpoints, --aws-endpoint-url) over the host's
	// AWS_ENDPOINT_URL*, so the functions' SDK calls go where the integrations' calls go.
	for _, kv := range o.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, kv := range f.plan.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range f.spec.Environment {
		env[k] = v
	}
	execEnv := "AWS_Lambda_" + f.spec.Runtime
	reserved := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        f.spec.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.memory),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(f.timeout.Seconds())),
		"AWS_LAMBDA_LOG_GROUP_NAME":       f.logGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME":      logStreamName(time.Now()),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_RUNTIME_API":          api,
		"AWS_EXECUTION_ENV":               execEnv,
		"AWS_REGION":                      o.Region,
		"AWS_DEFAULT_REGION":              o.Region,
		"LAMBDA_TASK_ROOT":                f.spec.CodeDir,
		"LAMBDA_RUNTIME_DIR":              f.spec.CodeDir,
		"_HANDLER":                        f.spec.Handler,
		"TZ":                              ":UTC",
	}
	for k, v := range reserved {
		env[k] = v
	}
	c := o.Credentials
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": c.AccessKeyID, "AWS_SECRET_ACCESS_KEY": c.SecretAccessKey, "AWS_SESSION_TOKEN": c.SessionToken} {
		if v != "" {
			env[k] = v
		} else {
			delete(env, k)
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill ends the process (and anything it started) at once.
func (p *proc) kill() {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	if p.cmd != nil && p.alive() {
		killProcessGroup(p.cmd)
	}
}

// stop kills the process and closes its endpoint; safe to call more than once.
func (p *proc) stop() {
	p.stopOnce.Do(func() {
		p.kill()
		_ = p.srv.Close()
	})
}

// currentID is the request id of the invocation the runtime holds, "" between invocations.
func (p *proc) currentID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return ""
	}
	return p.cur.id
}

// takeInitDuration returns the init duration the first time it is asked after init.
func (p *proc) takeInitDuration() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ready || p.initShown {
		return 0, false
	}
	p.initShown = true
	return p.initDur, true
}

// initError is the invocation's answer when the runtime reported an init error: that error,
// as Lambda returns it.
func (p *proc) initError(inv *invocation) error {
	p.mu.Lock()
	body := p.initErr
	p.mu.Unlock()
	return parseFnError("Runtime.Unknown", body)
}

// exitError is the invocation's answer when the process exited under it: its init error when
// it reported one, else Runtime.ExitError.
func (p *proc) exitError(inv *invocation) error {
	p.mu.Lock()
	body := p.initErr
	p.mu.Unlock()
	if body != nil {
		return parseFnError("Runtime.Unknown", body)
	}
	return fnError("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", inv.id, exitText(p.exitErr)))
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String() // "exit status 1", "signal: killed"
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// pump logs one output stream line by line, tagged with the function and the current request.
func (p *proc) pump(r io.ReadCloser, stream string) {
	defer p.logs.Done()
	defer r.Close()
	lines(r, MaxLogLineBytes, func(line string) {
		p.f.s.log.LogAttrs(nilCtx, levelOf(stream), line, p.f.logAttrs(p.currentID(), stream)...)
	})
}
