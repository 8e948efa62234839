package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	imp                                          *importFlags
	createResources                              bool
}

func (a *app) serveCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve [--config FILE | --template FILE] [flags]",
		Short: "Run the gateway until SIGINT or SIGTERM (graceful: 1001 to every socket, $disconnect run)",
		Long: `Run the gateway until SIGINT or SIGTERM. On either signal it stops accepting, closes every
connection with 1001, runs each $disconnect and exits within shutdown.gracePeriod.

With no --config it serves the embedded demo API (ws://127.0.0.1:8080/dev; 'wsgate config example'
prints it). --template runs a CloudFormation/SAM template as is: its Lambda functions are reached at the
--function URLs, its AWS service integrations call the services on AWS or at --aws-endpoint-url
(a local emulator, where the template's tables and queues are created), or a --standin URL
(docs/templates.md).`,
		Example: `  wsgate serve
  wsgate serve --config wsgate.yaml --listen 0.0.0.0:8080 --log-level debug
  wsgate serve --template template.yaml --function ConnectFunction=http://127.0.0.1:9001 \
      --parameter StageName=test --stage test
  wsgate serve --template template.yaml --aws-endpoint-url dynamodb=http://127.0.0.1:4567`,
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
		return errors.New("--function, --parameter, --standin, --stage, --region, --account-id and --stack-name go with --template")
	}
	var cfg *config.Config
	var err error
	switch {
	case f.config != "" && f.template != "":
		return errors.New("give --config or --template, not both")
	case f.config != "":
		cfg, err = config.Load(f.config)
	case f.template != "":
		cfg, err = f.imp.load(f.template, a.stderr)
	default:
		cfg = config.Default()
	}
	if err != nil {
		return err
	}
	applyAWSEndpoints(cfg, f.imp.awsEndpoints)
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.stateDir != "" {
		cfg.State.Dir = f.stateDir
	}
	log, err := observe.NewLogger(a.stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if f.config == "" && f.template == "" {
		log.Info("no --config given: serving the embedded demo API; 'wsgate config example' prints it")
	}
	if f.template != "" && f.createResources {
		createTemplateResources(ctx, f.template, f.imp.options(), cfg, log, a.stderr)
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if a.started != nil {
		a.started(srv.Addr())
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
