// Package cli is wsgate's command line: serve, validate, config example, import, version. It
// only reads flags and config, wires the server and waits for a signal.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/server"
)

// Version is set at build time with -ldflags "-X github.com/wsgate/wsgate/internal/cli.Version=v1.2.3".
var Version = ""

const usage = `wsgate: a self-hosted WebSocket API gateway with the behaviour of Amazon API Gateway WebSocket APIs.

Usage:
  wsgate serve [--config FILE] [--log-level debug|info|warn|error]
  wsgate serve --template template.yaml [--function Name=URL ...] [--parameter Key=Value ...] [--standin Name=URL ...] [--stage NAME]
  wsgate validate --config FILE
  wsgate config example
  wsgate import template.yaml [--function Name=URL ...] [--parameter Key=Value ...] [--standin Name=URL ...] [--stage NAME]
  wsgate version

With no --config, serve runs the embedded demo API (ws://127.0.0.1:8080/dev); 'wsgate config example'
prints it as a starting point. serve also takes --listen HOST:PORT. Templates also take --region,
--account-id and --stack-name (pseudo parameters); docs/templates.md explains what maps to what.
`

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		err = serve(ctx, args[1:], stderr, nil)
		stop()
	case "validate":
		err = validate(args[1:], stdout)
	case "config":
		if len(args) == 2 && args[1] == "example" {
			_, err = stdout.Write(config.Example())
		} else {
			err = errors.New("usage: wsgate config example")
		}
	case "import":
		err = importTemplate(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "wsgate", version())
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "wsgate: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "wsgate:", err)
		return 1
	}
	return 0
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// pairs collects repeated Key=Value flags.
type pairs map[string]string

func (p pairs) String() string { return "" }
func (p pairs) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: write Name=Value", v)
	}
	p[k] = val
	return nil
}

func validate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	file := fs.String("config", "", "config file to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("usage: wsgate validate --config FILE")
	}
	if _, err := config.Load(*file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", *file)
	return nil
}

// serve runs a node until ctx is done, then shuts it down gracefully. started, when not nil,
// is called with the listener's address once the node serves (tests use it with --listen :0).
func serve(ctx context.Context, args []string, stderr io.Writer, started func(addr string)) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "config file (default: the embedded demo API)")
	tmpl := fs.String("template", "", "CloudFormation/SAM template to run instead of a config")
	level := fs.String("log-level", "", "debug, info, warn or error (overrides log.level)")
	listen := fs.String("listen", "", "host:port to listen on (overrides listen)")
	imp := newImportFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected %q (flags only; a template goes after --template)", fs.Arg(0))
	}
	if *tmpl == "" && imp.given(fs) {
		return errors.New("--function, --parameter, --standin, --stage, --region, --account-id and --stack-name go with --template")
	}
	var cfg *config.Config
	var err error
	switch {
	case *file != "" && *tmpl != "":
		return errors.New("give --config or --template, not both")
	case *file != "":
		cfg, err = config.Load(*file)
	case *tmpl != "":
		cfg, err = imp.load(*tmpl, stderr)
	default:
		cfg = config.Default()
	}
	if err != nil {
		return err
	}
	if *level != "" {
		cfg.Log.Level = *level
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	log, err := observe.NewLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if *file == "" && *tmpl == "" {
		log.Info("no --config given: serving the embedded demo API; 'wsgate config example' prints it")
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if started != nil {
		started(srv.Addr())
	}
	<-ctx.Done()
	grace := cfg.Shutdown.GracePeriod.D()
	log.Info("shutting down: closing connections with 1001 and running their $disconnect", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}
