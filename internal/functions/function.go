package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/wsgate/wsgate/internal/lambda"
	"github.com/wsgate/wsgate/internal/observe"
)

// Function is one function and its pool of runtime processes: at most Concurrency processes,
// each running one invocation at a time; idle ones are reused warmest first and stopped after
// Options.IdleTimeout. Invoke is safe for concurrent use.
type Function struct {
	s        *Set
	spec     Spec
	plan     plan
	arn      string
	logGroup string
	timeout  time.Duration
	memory   int
	limit    int

	mu     sync.Mutex
	idle   []*proc // ready processes, most recently used last
	live   int     // processes started and not yet forgotten
	gen    int     // code generation: bumped by a reload; older processes are retired
	closed bool

	buildMu  sync.Mutex
	builtGen int   // generation the last build ran for; -1 before the first
	buildErr error // its outcome
}

func newFunction(s *Set, rt *runtimes, sp Spec) (*Function, error) {
	if sp.Name == "" {
		return nil, errors.New("functions: a function without a name")
	}
	dir, err := absDir(sp.Name, sp.CodeDir)
	if err != nil {
		return nil, err
	}
	sp.CodeDir = dir
	p, err := rt.plan(sp)
	if err != nil {
		return nil, err
	}
	if sp.Timeout < 0 || sp.Timeout > MaxTimeout {
		return nil, fmt.Errorf("function %s: Timeout %s is outside Lambda's 1..900 seconds", sp.Name, sp.Timeout)
	}
	f := &Function{
		s: s, spec: sp, plan: p, builtGen: -1,
		arn:      fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.o.Region, s.o.AccountID, sp.Name),
		logGroup: "/aws/lambda/" + sp.Name,
		timeout:  sp.Timeout, memory: sp.MemoryMB, limit: sp.Concurrency,
	}
	if f.timeout == 0 {
		f.timeout = DefaultTimeout
	}
	if f.memory <= 0 {
		f.memory = DefaultMemoryMB
	}
	if f.limit <= 0 {
		f.limit = DefaultConcurrency
	}
	if (p.fam == famNode || p.fam == famPython) && !sameFamilyVersion(sp.Runtime, p.local) {
		s.log.Warn("function runtime differs from the template's", "function", sp.Name,
			"asked", sp.Runtime, "used", p.local, "binary", p.argv[0])
	}
	return f, nil
}

// Name is the function's name.
func (f *Function) Name() string { return f.spec.Name }

// Function returns the function's name, as lambda.Invoker's Function does.
func (f *Function) Function() string { return f.spec.Name }

// ErrThrottled is returned when every runtime process the function may run is busy (Lambda's
// TooManyRequestsException). The gateway answers it as any failed integration.
var ErrThrottled = errors.New("TooManyRequestsException: Rate Exceeded")

// Invoke runs one invocation synchronously (RequestResponse) and returns the function's result
// payload. A function that failed (threw, timed out, crashed, failed to initialise) is a
// *lambda.FunctionError whose Payload is Lambda's error object; a throttled call is
// ErrThrottled; ctx ending returns ctx's error while the invocation runs on to its own end (as
// on Lambda, the function is not told its caller left).
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayloadBytes {
		return nil, fmt.Errorf("invoke function %s: RequestEntityTooLargeException: request payload of %d bytes exceeds %d", f.spec.Name, len(payload), MaxPayloadBytes)
	}
	inv := &invocation{
		id: newRequestID(), payload: payload, traceID: traceID(),
		started: make(chan struct{}), done: make(chan result, 1), final: make(chan result, 1),
	}
	p, err := f.acquire(inv)
	if err != nil {
		return nil, err
	}
	go f.execute(p, inv)
	select {
	case r := <-inv.final:
		return r.body, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke function %s: %w", f.spec.Name, ctx.Err())
	}
}

// acquire returns a warm process or starts one. A start failure (no bootstrap, failed build) is
// a *lambda.FunctionError for inv, as Lambda reports it.
func (f *Function) acquire(inv *invocation) (*proc, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, fmt.Errorf("invoke function %s: wsgate is shutting down", f.spec.Name)
	}
	for n := len(f.idle); n > 0; n = len(f.idle) {
		p := f.idle[n-1]
		f.idle = f.idle[:n-1]
		if p.gen == f.gen && p.alive() {
			f.mu.Unlock()
			return p, nil
		}
		f.forgetLocked(p)
		go p.stop()
	}
	if f.live >= f.limit {
		f.mu.Unlock()
		return nil, fmt.Errorf("invoke function %s: %w (all %d runtime processes are busy; raise the function's concurrency)", f.spec.Name, ErrThrottled, f.limit)
	}
	f.live++
	gen := f.gen
	f.mu.Unlock()

	p, err := f.startProc(gen, inv)
	if err != nil {
		f.mu.Lock()
		f.live--
		f.mu.Unlock()
		return nil, err
	}
	return p, nil
}

// release returns a healthy process to the idle list, or stops it when the code changed
// meanwhile or the Set is closing.
func (f *Function) release(p *proc) {
	f.mu.Lock()
	if f.closed || p.gen != f.gen {
		f.forgetLocked(p)
		f.mu.Unlock()
		p.stop()
		return
	}
	p.lastUsed = time.Now()
	f.idle = append(f.idle, p)
	f.mu.Unlock()
}

// discard stops a process that must not be reused (crashed, timed out, failed init).
func (f *Function) discard(p *proc) {
	f.mu.Lock()
	f.forgetLocked(p)
	f.mu.Unlock()
	p.stop()
}

func (f *Function) forgetLocked(p *proc) {
	if !p.forgotten {
		p.forgotten = true
		f.live--
	}
}

// execute drives one invocation on p: hand it over, wait for the answer, the process's exit or
// the timeout, log START/END/REPORT and deliver the result. It owns p until it returns.
func (f *Function) execute(p *proc, inv *invocation) {
	log := f.s.log
	log.Info(fmt.Sprintf("START RequestId: %s Version: $LATEST", inv.id), "function", f.spec.Name, "requestId", inv.id)
	p.work <- inv // cap 1, and p is ours alone: never blocks
	var (
		r       result
		healthy bool
		status  string
	)
	initTimer := time.NewTimer(InitTimeout)
	select {
	case <-inv.started:
		initTimer.Stop()
	case <-p.initFailed:
		initTimer.Stop()
		p.kill()
		r = result{err: p.initError(inv)}
	case <-p.exited:
		initTimer.Stop()
		r = result{err: p.exitError(inv)}
	case <-initTimer.C:
		p.kill()
		status = "timeout"
		r = result{err: timeoutError(inv, InitTimeout)}
		log.Warn(fmt.Sprintf("%s %s Task timed out during init after %.2f seconds", stamp(), inv.id, InitTimeout.Seconds()), "function", f.spec.Name, "requestId", inv.id)
	case <-f.s.stop:
		initTimer.Stop()
		p.kill()
		r = result{err: fmt.Errorf("invoke function %s: wsgate is shutting down", f.spec.Name)}
	}
	if r.err == nil && r.body == nil {
		timer := time.NewTimer(time.Until(inv.deadline))
		select {
		case r = <-inv.done:
			healthy = true
		case <-p.exited:
			select {
			case r = <-inv.done: // answered, then exited: the answer counts
			default:
				r = result{err: p.exitError(inv)}
			}
		case <-timer.C:
			select {
			case r = <-inv.done:
				healthy = true
			default:
				p.kill()
				status = "timeout"
				r = result{err: timeoutError(inv, f.timeout)}
				log.Warn(fmt.Sprintf("%s %s Task timed out after %.2f seconds", stamp(), inv.id, f.timeout.Seconds()), "function", f.spec.Name, "requestId", inv.id)
			}
		case <-f.s.stop:
			p.kill()
			r = result{err: fmt.Errorf("invoke function %s: wsgate is shutting down", f.spec.Name)}
		}
		timer.Stop()
	}
	if healthy && !p.alive() {
		healthy = false
	}
	f.report(p, inv, status)
	// The process is back in the pool before the caller hears the result, so that a caller's
	// next invocation finds it warm.
	if healthy {
		f.release(p)
	} else {
		f.discard(p)
	}
	inv.final <- r
}

// report logs END and REPORT as CloudWatch Logs shows them.
func (f *Function) report(p *proc, inv *invocation, status string) {
	var d time.Duration
	if !inv.startedAt.IsZero() {
		d = time.Since(inv.startedAt)
	}
	ms := float64(d.Microseconds()) / 1000
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB", inv.id, ms, int(math.Ceil(ms)), f.memory)
	if mb := p.maxMemoryMB(); mb > 0 {
		fmt.Fprintf(&b, "\tMax Memory Used: %d MB", mb)
	}
	if initDur, first := p.takeInitDuration(); first {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", float64(initDur.Microseconds())/1000)
	}
	if status != "" {
		b.WriteString("\tStatus: " + status)
	}
	f.s.log.Info("END RequestId: "+inv.id, "function", f.spec.Name, "requestId", inv.id)
	f.s.log.Info(b.String(), "function", f.spec.Name, "requestId", inv.id)
}

// build runs the spec's Build command once per code generation.
func (f *Function) build(gen int) error {
	if len(f.spec.build) == 0 {
		return nil
	}
	f.buildMu.Lock()
	defer f.buildMu.Unlock()
	if f.builtGen == gen {
		return f.buildErr
	}
	start := time.Now()
	cmd := exec.Command(f.spec.build[0], f.spec.build[1:]...)
	cmd.Dir = f.spec.CodeDir
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	f.builtGen = gen
	if err != nil {
		f.buildErr = fmt.Errorf("%s: %w\n%s", strings.Join(f.spec.build, " "), err, snippet(out, 4096))
		f.s.log.Error("function build failed", "function", f.spec.Name, "cmd", strings.Join(f.spec.build, " "), observe.KeyError, err, "output", snippet(out, 4096))
	} else {
		f.buildErr = nil
		f.s.log.Info("function built", "function", f.spec.Name, "cmd", strings.Join(f.spec.build, " "), "duration", time.Since(start).Round(time.Millisecond))
	}
	return f.buildErr
}

// maintain stops idle processes and, with Watch, reloads on code changes, until the Set closes.
func (f *Function) maintain() {
	defer f.s.wg.Done()
	tick := min(f.s.o.IdleTimeout/2, 30*time.Second)
	if f.s.o.Watch {
		tick = min(tick, f.s.o.WatchInterval)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var w *watcher
	if f.s.o.Watch {
		w = newWatcher(f.spec.CodeDir)
	}
	lastIdle := time.Now()
	for {
		select {
		case <-f.s.stop:
			return
		case now := <-t.C:
			if w != nil && w.changed() {
				f.reload()
			}
			if now.Sub(lastIdle) >= f.s.o.IdleTimeout/2 {
				lastIdle = now
				f.stopIdle(now.Add(-f.s.o.IdleTimeout))
			}
		}
	}
}

// stopIdle stops processes idle since before cutoff.
func (f *Function) stopIdle(cutoff time.Time) {
	f.mu.Lock()
	var stop []*proc
	keep := f.idle[:0]
	for _, p := range f.idle {
		if p.lastUsed.Before(cutoff) || !p.alive() {
			f.forgetLocked(p)
			stop = append(stop, p)
			continue
		}
		keep = append(keep, p)
	}
	clear(f.idle[len(keep):])
	f.idle = keep
	f.mu.Unlock()
	for _, p := range stop {
		p.stop()
	}
}

// reload retires every process of the old code: idle ones now, busy ones when they finish.
func (f *Function) reload() {
	f.stopAllIdle(func() { f.gen++ })
	f.s.log.Info("function code changed; new invocations run the new code", "function", f.spec.Name, "dir", f.spec.CodeDir)
}

// shutdown stops the idle processes and refuses new invocations; busy ones are killed by
// execute when it sees the Set's stop.
func (f *Function) shutdown() {
	f.stopAllIdle(func() { f.closed = true })
}

// stopAllIdle runs change under f.mu and stops the processes that were idle then; busy ones are
// left to whoever holds them.
func (f *Function) stopAllIdle(change func()) {
	f.mu.Lock()
	change()
	stop := f.idle
	f.idle = nil
	for _, p := range stop {
		f.forgetLocked(p)
	}
	f.mu.Unlock()
	for _, p := range stop {
		p.stop()
	}
}

// invocation is one call in flight.
type invocation struct {
	id, traceID string
	payload     []byte
	started     chan struct{} // closed by /next when the runtime takes it
	startedAt   time.Time     // set before started is closed
	deadline    time.Time     // likewise
	done        chan result   // the runtime's answer (cap 1)
	final       chan result   // what Invoke returns (cap 1)
	answered    bool          // guarded by the proc's mu
}

type result struct {
	body []byte
	err  error
}

// timeoutError is Lambda's answer for a function that ran past its Timeout.
func timeoutError(inv *invocation, d time.Duration) *lambda.FunctionError {
	return fnError("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, d.Seconds()))
}

// fnError builds a *lambda.FunctionError with Lambda's error object as payload.
func fnError(typ, msg string) *lambda.FunctionError {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return &lambda.FunctionError{Type: typ, Message: msg, Payload: b}
}

// parseFnError reads an error object a runtime posted; a body that is not one is wrapped in
// one, typed by the Lambda-Runtime-Function-Error-Type header.
func parseFnError(header string, body []byte) *lambda.FunctionError {
	var p struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &p) == nil && (p.ErrorType != "" || p.ErrorMessage != "") {
		t := cmpOr(p.ErrorType, cmpOr(header, "Unhandled"))
		return &lambda.FunctionError{Type: t, Message: p.ErrorMessage, Payload: body}
	}
	return fnError(cmpOr(header, "Runtime.Unknown"), string(snippet(body, 4096)))
}

func stamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func snippet(b []byte, max int) []byte {
	if len(b) > max {
		return append(b[:max:max], "..."...)
	}
	return b
}

// traceID is an X-Ray trace header of the shape Lambda passes in Lambda-Runtime-Trace-Id.
func traceID() string {
	id := newRequestID()
	h := strings.ReplaceAll(id, "-", "")
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[16:32])
}

// logAttrs tags a function's output.
func (f *Function) logAttrs(id, stream string) []slog.Attr {
	return []slog.Attr{slog.String("function", f.spec.Name), slog.String("requestId", id), slog.String("stream", stream)}
}
