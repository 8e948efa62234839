package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command's --help exits 0, on stdout, with GNU-style --flags and examples.
func TestEveryCommandHasHelp(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	root := (&app{}).root()
	root.InitDefaultCompletionCmd() // cobra adds it when it executes
	walk(root, nil)
	if len(paths) < 8 {
		t.Fatalf("found %d commands, want serve, validate, config, import, version, completion and more", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.Join(append([]string{"wsgate"}, p...), " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(append(p, "--help")...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, "--help") {
				t.Errorf("no usage with --flags:\n%s", stdout)
			}
			if strings.Contains(stdout, " -help") || strings.Contains(stdout, "flag: help requested") {
				t.Errorf("Go flag package style help:\n%s", stdout)
			}
			// The completion scripts' own subcommands are cobra's; ours all carry examples.
			if len(p) > 0 && p[0] != "completion" && !strings.Contains(stdout, "Examples:\n  wsgate ") {
				t.Errorf("no examples:\n%s", stdout)
			}
		})
	}
}

// An unknown flag or a flag without its value is a usage error: exit 2 and one line naming the
// help to read, with a suggestion when one is close.
func TestUsageErrorsExit2WithOneLineHint(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--frob"}, "wsgate: unknown flag: --frob (see 'wsgate serve --help')\n"},
		{[]string{"serve", "--confg", "x.yaml"}, "wsgate: unknown flag --confg; did you mean --config? (see 'wsgate serve --help')\n"},
		{[]string{"validate", "-config", "x.yaml"}, "wsgate: unknown flag -config: long flags take two dashes: --config (see 'wsgate validate --help')\n"},
		{[]string{"validate", "--config"}, "wsgate: flag needs an argument: --config (see 'wsgate validate --help')\n"},
		{[]string{"validate", "a.yaml", "b.yaml"}, "wsgate: validate takes one config file: wsgate validate [--config] FILE (see 'wsgate validate --help')\n"},
		{[]string{"config", "example", "--x"}, "wsgate: unknown flag: --x (see 'wsgate config example --help')\n"},
		{[]string{"send", "-8dvY1a-bb1ZN-s=", "hi"}, "wsgate: unknown flag -8dvY1a-bb1ZN-s=; a connection id that starts with '-' goes after --: wsgate send [flags] -- CONNECTION_ID [MESSAGE] (see 'wsgate send --help')\n"},
		{[]string{"connections", "delete", "-8dv="}, "wsgate: unknown flag -8dv=; a connection id that starts with '-' goes after --: wsgate connections delete [flags] -- CONNECTION_ID... (see 'wsgate connections delete --help')\n"},
		{[]string{"serv"}, "wsgate: unknown command \"serv\"; did you mean \"serve\"? (see 'wsgate --help')\n"},
	} {
		code, stdout, stderr := runCLI(tc.args...)
		if code != 2 || stdout != "" || stderr != tc.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// completion bash|zsh|fish prints a script for that shell.
func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "complete -o default -F __start_wsgate wsgate",
		"zsh":  "#compdef wsgate",
		"fish": "complete -c wsgate",
	} {
		code, stdout, stderr := runCLI("completion", shell)
		if code != 0 || stderr != "" || !strings.Contains(stdout, marker) {
			t.Errorf("completion %s: exit %d, stderr %q, script lacks %q", shell, code, stderr, marker)
		}
	}
}

// After "--" an id that starts with '-' is an id: the call is made for it (here to a port where
// nothing listens, so the error names the id), not refused as a flag.
func TestIDAfterDoubleDash(t *testing.T) {
	code, _, stderr := runCLI("send", "--endpoint", "http://127.0.0.1:1/dev", "--region", "us-east-1",
		"--access-key-id", "AKID", "--secret-access-key", "SECRET", "--timeout", "2s", "--", "-8dv=", "hi")
	if code == 0 || code == 2 || !strings.Contains(stderr, "-8dv=:") || strings.Contains(stderr, "unknown flag") {
		t.Errorf("exit %d, stderr %q; want a failed call for -8dv= (not a usage error)", code, stderr)
	}
}
