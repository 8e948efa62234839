// Package cli is wsgate's command line, built on github.com/spf13/cobra: serve, validate,
// config example, import, version and shell completion. Each command lives in a file of its own
// (serve.go, validate.go, ...) that declares its flags next to the code that reads them: a new
// flag is one line there. The package only reads flags and config, wires the server and waits
// for a signal.
//
// Exit codes: 0 on success and for --help; 1 when the command ran and failed (an invalid config, a
// server that cannot start); 2 for a command line that cannot be understood (an unknown command
// or flag, a flag without its value), with a one-line hint on stderr.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// app is what every command shares: where output goes and, for tests, a hook called with the
// listener's address once serve is up.
type app struct {
	stdout, stderr io.Writer
	// started, when not nil, is called with the listener's address once serve serves (tests use
	// it with --listen 127.0.0.1:0).
	started func(addr string)
	// reloads, when not nil, asks a running serve to reload as SIGHUP does (tests).
	reloads chan struct{}
}

// usageError is a command line that cannot be understood: Main prints it as one line with a
// pointer to the command's --help and exits 2.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return (&app{stdout: stdout, stderr: stderr}).run(context.Background(), args)
}

func (a *app) run(ctx context.Context, args []string) int {
	root := a.root()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if ue, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprintf(a.stderr, "wsgate: %v (see '%s --help')\n", ue.err, ue.cmd.CommandPath())
		return 2
	}
	fmt.Fprintln(a.stderr, "wsgate:", err)
	return 1
}

// root is the `wsgate` command with every subcommand attached. To add a command, write a
// file with a func (a *app) xxxCmd() *cobra.Command and add it here.
func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "wsgate <command>",
		Short: "A self-hosted WebSocket API gateway with the behaviour of Amazon API Gateway WebSocket APIs",
		Long: `wsgate: a self-hosted WebSocket API gateway with the behaviour of Amazon API Gateway WebSocket APIs.

With no --config, 'wsgate serve' runs the embedded demo API (ws://127.0.0.1:8080/dev); 'wsgate config
example' prints it as a starting point. 'wsgate serve --template' runs a CloudFormation/SAM template as is
(docs/templates.md explains what maps to what).`,
		Example: `  wsgate serve                                  # the demo API on ws://127.0.0.1:8080/dev
  wsgate serve --config wsgate.yaml --log-level debug
  wsgate serve --template template.yaml --function EchoFunction=http://127.0.0.1:9001
  wsgate validate --config wsgate.yaml
  wsgate config example > wsgate.yaml
  wsgate import template.yaml > wsgate.yaml
  wsgate connections list
  wsgate send 'Dwz4leekPHcCG6Q=' '{"news":"from the backend"}'
  wsgate version`,
		Version: version(),
		// Any args reach RunE, so that an unknown command is a usage error (exit 2) with a
		// suggestion, not cobra's help text.
		Args:          cobra.ArbitraryArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				fmt.Fprint(a.stderr, cmd.UsageString())
				return &usageError{cmd, errors.New("no command given")}
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", s[0])
			}
			return &usageError{cmd, errors.New(msg)}
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("wsgate {{.Version}}\n")
	root.SetFlagErrorFunc(flagError) // subcommands inherit it
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(
		a.serveCmd(),
		a.validateCmd(),
		a.configCmd(),
		a.importCmd(),
		a.versionCmd(),
		a.connectionsCmd(),
		a.sendCmd(),
		a.usersCmd(),
		a.healthcheckCmd(),
	)
	return root
}

// idArgs annotates a command whose arguments are connection ids; its value is the usage line
// with "--" before them, shown when an id starting with '-' was read as a flag.
const idArgs = "wsgate/idArgs"

// flagError turns pflag's parse errors into usage errors (exit 2), with a hint for the two
// usual slips: Go-style single-dash long flags (-config) and a misspelt flag name.
func flagError(cmd *cobra.Command, err error) error {
	if ne, ok := errors.AsType[*pflag.NotExistError](err); ok {
		name := ne.GetSpecifiedName()
		if sh := ne.GetSpecifiedShortnames(); sh != "" && len(sh) > 1 && cmd.Flags().Lookup(sh) != nil {
			return &usageError{cmd, fmt.Errorf("unknown flag -%s: long flags take two dashes: --%s", sh, sh)}
		}
		if sh := ne.GetSpecifiedShortnames(); sh != "" && cmd.Annotations[idArgs] != "" {
			// Connection ids are base64 and one in 64 starts with '-' (so do AWS's).
			return &usageError{cmd, fmt.Errorf("unknown flag -%s; a connection id that starts with '-' goes after --: %s", sh, cmd.Annotations[idArgs])}
		}
		if name != "" {
			if s := closestFlag(cmd.Flags(), name); s != "" {
				return &usageError{cmd, fmt.Errorf("unknown flag --%s; did you mean --%s?", name, s)}
			}
		}
		return &usageError{cmd, err}
	}
	if _, ok := errors.AsType[*pflag.InvalidValueError](err); ok {
		// The value was read and refused: the flag's own message says what to write.
		return err
	}
	return &usageError{cmd, err}
}

// closestFlag is the flag of fs whose name is nearest to name (edit distance at most 2, or a
// prefix either way), or "".
func closestFlag(fs *pflag.FlagSet, name string) string {
	best, bestD := "", 3
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) || strings.HasPrefix(name, f.Name) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes; flag names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// pairs collects repeated Key=Value flags; it is a pflag.Value.
type pairs map[string]string

func (p pairs) String() string { return "" }
func (p pairs) Type() string   { return "Name=Value" }
func (p pairs) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: write Name=Value", v)
	}
	p[k] = val
	return nil
}
