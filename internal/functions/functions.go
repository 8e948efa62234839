// Package functions runs Lambda functions on this machine, the way the Lambda service runs them:
// each function gets a pool of runtime processes that talk to wsgate over the Lambda Runtime API
// (version 2018-06-01, AWS Lambda developer guide, "Using the Lambda runtime API for custom
// runtimes"), one invocation per process at a time.
//
// provided.al2023, provided.al2 and go1.x functions run their own bootstrap executable; nodejs*
// and python3.* functions run on the machine's node and python3 through the small runtime
// clients embedded in this package (runtime/). A Function's Invoke has the shape of the Lambda
// Invoke API client (internal/lambda): the same payload in, the function's result or a
// *lambda.FunctionError out, so AWS_PROXY integrations and REQUEST authorizers call a local
// function exactly as they call a remote one.
package functions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Defaults, after Lambda's own where Lambda has one.
const (
	// DefaultTimeout is Lambda's default function timeout (3 s).
	DefaultTimeout = 3 * time.Second
	// MaxTimeout is Lambda's largest function timeout (900 s).
	MaxTimeout = 900 * time.Second
	// DefaultMemoryMB is Lambda's default MemorySize (128 MB). It is reported to the function
	// (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, context.memoryLimitInMB) and in REPORT lines; wsgate
	// does not enforce it.
	DefaultMemoryMB = 128
	// DefaultConcurrency is the number of runtime processes a function may run at once when it
	// sets no ReservedConcurrentExecutions / concurrency. An invocation beyond it is throttled
	// as Lambda throttles: TooManyRequestsException, which the gateway answers as a failed
	// integration.
	DefaultConcurrency = 10
	// DefaultIdleTimeout is how long a warm runtime process waits for work before it is stopped.
	DefaultIdleTimeout = 10 * time.Minute
	// InitTimeout bounds a runtime process's init phase (start to its first
	// /runtime/invocation/next), as Lambda's 10 s init limit does.
	InitTimeout = 10 * time.Second
	// MaxPayloadBytes is Lambda's limit on a synchronous invocation's request and response
	// payloads (6 MB).
	MaxPayloadBytes = 6 << 20
	// MaxLogLineBytes bounds one line of a function's stdout/stderr in wsgate's log; the rest of
	// a longer line is dropped and the line is marked as truncated.
	MaxLogLineBytes = 16 << 10
	// DefaultWatchInterval is how often a watched code directory is scanned for changes.
	DefaultWatchInterval = 500 * time.Millisecond
)

// Spec is one function as a template or the native config declares it.
type Spec struct {
	// Name is the function's name: AWS_LAMBDA_FUNCTION_NAME, the log tag, the name integrations
	// call it by.
	Name string
	// Runtime is Lambda's runtime identifier: provided.al2023, provided.al2, go1.x, nodejs20.x,
	// python3.12... Families are matched: any nodejsNN.x runs on the local node, any python3.N
	// on the local python3.
	Runtime string
	// Handler is Lambda's handler setting: "dir/file.fn" for Node, "module.fn" (or
	// "pkg/module.fn") for Python, the executable's name for go1.x; unused for provided.*.
	Handler string
	// CodeDir is the directory holding the function's code (LAMBDA_TASK_ROOT), already
	// extracted when the code came as a .zip.
	CodeDir string
	// Timeout per invocation; 0 means DefaultTimeout.
	Timeout time.Duration
	// MemoryMB is the MemorySize; 0 means DefaultMemoryMB.
	MemoryMB int
	// Environment is the function's own variables (Environment.Variables).
	Environment map[string]string
	// Concurrency is the most runtime processes run at once; 0 means DefaultConcurrency.
	Concurrency int
	// Zip, when set instead of CodeDir, is a .zip of the code, extracted into the state
	// directory at start (Lambda's 250 MB unzipped limit applies).
	Zip string
	// InlineCode, when set instead of CodeDir, is the source of index.js (Node) or index.py
	// (Python), written into the state directory at start (CloudFormation's Code.ZipFile).
	InlineCode string
	// BuildMethod "go1.x" builds a provided.*/go1.x function's bootstrap from the Go sources in
	// CodeDir with go build, into the state directory, before the first process starts and
	// after each code change (SAM's Metadata.BuildMethod).
	BuildMethod string

	build     []string // the build command, when BuildMethod asks for one
	bootstrap string   // the executable a provided.* function runs, when not CodeDir/bootstrap
}

// Credentials are what a function gets as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN: keys this wsgate's management API accepts, so that a handler's SigV4-signed
// PostToConnection is verified.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Options are what every function of a Set shares.
type Options struct {
	// Region is AWS_REGION and AWS_DEFAULT_REGION, and the region in function ARNs.
	Region string
	// AccountID goes into function ARNs (Lambda-Runtime-Invoked-Function-Arn).
	AccountID string
	// Credentials given to every function; empty keys are not set.
	Credentials Credentials
	// CAFile, when set, is the PEM of the CA the functions must trust to call the gateway over
	// https (its local CA): NODE_EXTRA_CA_CERTS points at it.
	CAFile string
	// CABundle is the system's roots plus CAFile, for the variables that replace a client's
	// roots: AWS_CA_BUNDLE, SSL_CERT_FILE and REQUESTS_CA_BUNDLE. Empty means CAFile.
	CABundle string
	// Env are KEY=VALUE variables every function gets, over the host's and under the
	// function's own (the server passes awsservice.EndpointEnv: AWS_ENDPOINT_URL_<SERVICE> for
	// the endpoints of aws.endpoints).
	Env []string
	// Watch reloads a function when a file under its CodeDir changes: new invocations go to
	// fresh processes, busy ones finish and are stopped.
	Watch bool
	// WatchInterval is the scan period; 0 means DefaultWatchInterval.
	WatchInterval time.Duration
	// IdleTimeout stops warm processes idle for this long; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// StateDir is where the embedded runtime clients are written; "" means a temporary
	// directory removed by Close.
	StateDir string
	// Node and Python are the interpreters; "" means "node" and "python3" on PATH.
	Node, Python string
	// Logger receives the functions' output and START/END/REPORT lines; nil discards.
	Logger *slog.Logger
}

// Set is the functions of one gateway. Its methods are safe for concurrent use.
type Set struct {
	o       Options
	log     *slog.Logger
	fns     map[string]*Function
	tmpDir  string // removed by Close when the Set made it
	stop    chan struct{}
	wg      sync.WaitGroup
	closing sync.Once
}

// New checks every spec (runtime supported, interpreter present, code directory there), writes
// the embedded runtime clients and returns the Set. No process starts before the first
// invocation. Errors name the function and what to do instead, all of them at once.
func New(specs []Spec, o Options) (*Set, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = DefaultWatchInterval
	}
	s := &Set{o: o, log: o.Logger, fns: map[string]*Function{}, stop: make(chan struct{})}
	dir := o.StateDir
	if dir == "" {
		d, err := os.MkdirTemp("", "wsgate-runtimes-")
		if err != nil {
			return nil, fmt.Errorf("functions: %w", err)
		}
		dir, s.tmpDir = d, d
	}
	rt, err := newRuntimes(dir, o)
	if err != nil {
		s.removeTmp()
		return nil, err
	}
	var errs []error
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	for _, sp := range specs {
		sp, err := prepare(dir, sp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, err := newFunction(s, rt, sp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.fns[sp.Name] = f
	}
	if len(errs) > 0 {
		s.removeTmp()
		return nil, errors.Join(errs...)
	}
	for _, f := range s.fns {
		s.wg.Add(1)
		go f.maintain()
		if len(f.spec.build) > 0 {
			go func() { _ = f.build(0) }() // so that the first invocation finds it built
		}
	}
	return s, nil
}

func (s *Set) removeTmp() {
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
}

// Function returns the function called name, or nil and false.
func (s *Set) Function(name string) (*Function, bool) {
	if s == nil {
		return nil, false
	}
	f, ok := s.fns[name]
	return f, ok
}

// Names lists the functions, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.fns))
	for n := range s.fns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Close stops every runtime process (in-flight invocations fail) and waits for them, bounded
// by ctx.
func (s *Set) Close(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.closing.Do(func() { close(s.stop) })
	for _, f := range s.fns {
		f.shutdown()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("functions: close: %w", ctx.Err())
	}
	s.removeTmp()
	return err
}

// Check reports, for specs that New would refuse, one line per function saying what it needs
// (used by `wsgate validate` and at start); nil when all can run.
func Check(specs []Spec, o Options) error {
	rt := &runtimes{o: o}
	var errs []error
	for _, sp := range specs {
		if _, err := rt.plan(sp); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// newRequestID returns a UUID-shaped request id, as Lambda's look.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// absDir makes dir absolute and checks that it is a directory.
func absDir(name, dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("function %s: no code directory (CodeUri / codeUri)", name)
	}
	a, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("function %s: code directory %s: %w", name, dir, err)
	}
	st, err := os.Stat(a)
	if err != nil {
		return "", fmt.Errorf("function %s: code directory %s: %w", name, dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return "", fmt.Errorf("function %s: code %s is not a directory", name, dir)
	}
	return a, nil
}

// logStreamName is Lambda's log stream name shape: 2026/11/29/[$LATEST]0123abcd....
func logStreamName(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(b[:])
}

func cmpOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
