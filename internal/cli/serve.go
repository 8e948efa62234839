package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/server"
)

// serveFlags are serve's flags; serveCmd declares them.
type serveFlags struct {
	config, template, logLevel, listen, stateDir string
	watch, watchCode                             bool
	imp                                          *importFlags
	createResources                              bool
	mgmtKey                                      *mgmtKeyFlags
}

func (a *app) serveCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve [--config FILE | --template FILE] [flags]",
		Short: "Run the gateway until SIGINT or SIGTERM (graceful: 1001 to every socket, $disconnect run)",
		Long: `Run the gateway until SIGINT or SIGTERM. On either signal it stops accepting, closes every
connection with 1001, runs each $disconnect and exits within shutdown.gracePeriod.

SIGHUP (and, with --watch-config, any change to the file) reloads the config or template: if it is
valid, routes, integrations, authorizers and management credentials apply to new handshakes, messages
and management calls, and no socket is closed; if not, every error is logged and the running config
keeps serving. Settings that only change on restart (listen, stage, store, limits, ...) are named.

With no --config it serves the embedded demo API (ws://127.0.0.1:8080/dev; 'wsgate config example'
prints it). --template runs a CloudFormation/SAM template as is: wsgate runs its Lambda functions itself
(nodejs*, python3.*, provided.*, go1.x; docs/functions.md) or reaches one at its --function URL; its AWS
service integrations call the services on AWS or at --aws-endpoint-url (a local emulator, where the
template's tables and queues are created), or a --standin URL (docs/templates.md).

In every mode the management API (@connections and wsgate's extensions) verifies SigV4 signatures
against management.credentials plus the key pair given by --access-key-id and --secret-access-key,
each half else $WSGATE_ACCESS_KEY_ID / $WSGATE_SECRET_ACCESS_KEY; that pair replaces a config entry
with the same key id and is the key functions run by wsgate sign with. With no key at all, loopback
callers are served without a signature check and every other caller is refused. The start-up log
names the mode (mode=signed, loopback or loopback+generated-key).`,
		Example: `  wsgate serve
  wsgate serve --config wsgate.yaml --listen 0.0.0.0:8080 --log-level debug
  wsgate serve --config wsgate.yaml --watch-config      # or: kill -HUP <pid> after editing it
  wsgate serve --template template.yaml --function ConnectFunction=http://127.0.0.1:9001 \
      --parameter StageName=test --stage test
  wsgate serve --template template.yaml --aws-endpoint-url dynamodb=http://127.0.0.1:4567
  wsgate serve --template template.yaml --jwt-authorizer Authorizer --jwt-jwks-url https://issuer.example/jwks.json
  WSGATE_ACCESS_KEY_ID=AKIDLOCAL WSGATE_SECRET_ACCESS_KEY=s3cret wsgate serve --template template.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("serve: unexpected %q (flags only; a template goes after --template)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.serve(ctx, cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.config, "config", "", "config `FILE` (default: the embedded demo API)")
	fs.StringVar(&f.template, "template", "", "CloudFormation/SAM template `FILE` to run instead of a config")
	fs.StringVar(&f.logLevel, "log-level", "", "`LEVEL`: debug, info, warn or error (overrides log.level)")
	fs.StringVar(&f.listen, "listen", "", "`HOST:PORT` to listen on (overrides listen)")
	fs.StringVar(&f.stateDir, "state-dir", "", "`DIR` where the local CA is kept (overrides state.dir; default $WSGATE_STATE_DIR, $XDG_STATE_HOME/wsgate or ~/.local/state/wsgate)")
	fs.BoolVar(&f.watch, "watch-config", false, "reload when the --config or --template file changes (as on SIGHUP)")
	fs.BoolVar(&f.watchCode, "watch", false, "reload a function wsgate runs when its code changes (default on with --template; --watch=false turns it off)")
	f.mgmtKey = addMgmtKeyFlags(fs)
	f.imp = newImportFlags(fs)
	f.imp.awsEndpoints = addAWSEndpointFlag(fs)
	fs.BoolVar(&f.createResources, "create-resources", true, "with --template: create the template's DynamoDB tables and SQS queues that are missing on a local emulator endpoint (never on AWS)")
	return cmd
}

// serve runs `wsgate serve args...` until ctx is done, then shuts the node down gracefully.
// started, when not nil, is called with the listener's address once the node serves (tests use
// it with --listen 127.0.0.1:0).
func serve(ctx context.Context, args []string, stderr io.Writer, started func(addr string)) error {
	a := &app{stdout: stderr, stderr: stderr, started: started}
	root := a.root()
	root.SetArgs(append([]string{"serve"}, args...))
	// serveCmd's RunE adds the signals; ctx cancels it in tests.
	return root.ExecuteContext(ctx)
}

func (a *app) serve(ctx context.Context, cmd *cobra.Command, f *serveFlags) error {
	if f.template == "" && f.imp.given(cmd.Flags()) {
		return errors.New("--function, --parameter, --standin, --stage, --region, --account-id, --stack-name and the --jwt-* flags go with --template")
	}
	if f.config != "" && f.template != "" {
		return errors.New("give --config or --template, not both")
	}
	if f.watch && f.config == "" && f.template == "" {
		return errors.New("--watch-config needs --config or --template")
	}
	// SIGHUP is caught from here on: one that arrives while the node starts reloads once it
	// serves, instead of killing the process (Go's default for SIGHUP).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, err := f.load(a)
	if err != nil {
		return err
	}
	log, err := observe.NewLogger(a.stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	server.SetMemoryLimit(log)
	if f.config == "" && f.template == "" {
		log.Info("no --config given: serving the embedded demo API; 'wsgate config example' prints it")
	}
	if f.template != "" && f.createResources {
		o, _ := f.imp.options() // load checked them
		createTemplateResources(ctx, f.template, o, cfg, log, a.stderr)
	}
	watchCode := f.watchCode
	if !cmd.Flags().Changed("watch") {
		watchCode = f.template != ""
	}
	srv, err := server.NewWithOptions(ctx, cfg, log, server.Options{WatchFunctions: watchCode})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	server.HoldHeapFloor(log, srv.Routed, ctx.Done())
	cfg = a.serveUntilDone(ctx, log, srv, f, cfg, hup)
	grace := cfg.Shutdown.GracePeriod.D()
	log.Info("shutting down: closing connections with 1001 and running their $disconnect", "gracePeriod", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", observe.KeyError, err)
	}
	log.Info("stopped")
	return nil
}

// load reads the config serve runs (the file, the template or the demo) with the command
// line's overrides applied. Reloads call it again.
func (f *serveFlags) load(a *app) (*config.Config, error) {
	var cfg *config.Config
	var err error
	switch {
	case f.config != "":
		cfg, err = config.Load(f.config)
	case f.template != "":
		cfg, err = f.imp.load(f.template, a.stderr)
	default:
		cfg = config.Default()
	}
	if err != nil {
		return nil, err
	}
	applyAWSEndpoints(cfg, f.imp.awsEndpoints)
	if err := f.mgmtKey.apply(cfg); err != nil {
		return nil, err
	}
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.stateDir != "" {
		cfg.State.Dir = f.stateDir
	}
	return cfg, nil
}

// serveUntilDone reloads on hup (SIGHUP) and, with --watch-config, on a change of the file,
// until ctx is done. It returns the config last applied.
func (a *app) serveUntilDone(ctx context.Context, log *slog.Logger, srv *server.Server, f *serveFlags, cfg *config.Config, hup <-chan os.Signal) *config.Config {
	changed := make(chan struct{})
	if f.watch {
		path := cmp.Or(f.config, f.template)
		if err := watchFile(ctx, log, path, changed); err != nil {
			log.Error("--watch-config: cannot watch the file; SIGHUP still reloads", "file", path, observe.KeyError, err)
		} else {
			log.Info("watching the config for changes", "file", path)
		}
	}
	if a.started != nil { // after the watcher took the file's content as its starting point
		a.started(srv.Addr())
	}
	load := func() (*config.Config, error) { return f.load(a) }
	for {
		var trigger string
		select {
		case <-ctx.Done():
			return cfg
		case <-hup:
			trigger = "SIGHUP"
		case <-changed:
			trigger = "file changed"
		case <-a.reloads:
			trigger = "request"
		}
		if f.config == "" && f.template == "" {
			log.Info("nothing to reload: serving the embedded demo config", "trigger", trigger)
			continue
		}
		if next := reload(log, srv, load, trigger); next != nil {
			cfg = next
		}
	}
}
