package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/wsgate/wsgate/internal/cfn"
	"github.com/wsgate/wsgate/internal/config"
)

// importFlags are the flags `serve --template` and `import` share: they fill cfn.Options.
type importFlags struct {
	functions, parameters, standins     pairs
	stage, region, accountID, stackName string
}

func newImportFlags(fs *flag.FlagSet) *importFlags {
	f := &importFlags{functions: pairs{}, parameters: pairs{}, standins: pairs{}}
	fs.Var(f.functions, "function", "Name=URL: a function's Lambda Invoke API endpoint, by logical id or FunctionName (repeatable)")
	fs.Var(f.parameters, "parameter", "Key=Value: a template parameter (repeatable)")
	fs.Var(f.standins, "standin", "Name=URL: an HTTP stand-in for an AWS service integration, by logical id (repeatable)")
	fs.StringVar(&f.stage, "stage", "", "the stage to serve (StageName or logical id) when the template has several")
	fs.StringVar(&f.region, "region", "", "AWS::Region (default "+cfn.DefaultRegion+")")
	fs.StringVar(&f.accountID, "account-id", "", "AWS::AccountId (default "+cfn.DefaultAccountID+")")
	fs.StringVar(&f.stackName, "stack-name", "", "AWS::StackName (default "+cfn.DefaultStackName+")")
	return f
}

func (f *importFlags) options() cfn.Options {
	return cfn.Options{
		Parameters: f.parameters, Functions: f.functions, Standins: f.standins,
		Stage: f.stage, Region: f.region, AccountID: f.accountID, StackName: f.stackName,
	}
}

// read imports the template at path and prints its warnings to stderr, each once, as
// "warning: Resource.Properties.Property: message". Blocking warnings are printed only when
// printBlocking is set (serve reports them in its error instead, so they appear once).
func (f *importFlags) read(path string, stderr io.Writer, printBlocking bool) (*config.Config, []cfn.Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read template: %w", err)
	}
	cfg, warns, err := cfn.Import(path, data, f.options())
	for _, w := range warns {
		if printBlocking || !w.Blocking {
			fmt.Fprintln(stderr, "warning:", w.String())
		}
	}
	if err != nil {
		return nil, warns, err
	}
	return cfg, warns, nil
}

// blockingResources names the resources of the blocking warnings, for import's exit error.
func blockingResources(ws []cfn.Warning) []string {
	var ids []string
	for _, w := range ws {
		if w.Blocking && !slices.Contains(ids, w.Resource) {
			ids = append(ids, w.Resource)
		}
	}
	return ids
}

// load is `serve --template`: the imported config, completed and validated. A blocking
// warning (an AWS service integration without a stand-in) refuses to start, naming the
// resources, rather than failing on the first message that reaches it.
func (f *importFlags) load(path string, stderr io.Writer) (*config.Config, error) {
	cfg, warns, err := f.read(path, stderr, false)
	if err != nil {
		return nil, err
	}
	if err := cfn.BlockingError(warns); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: the imported config is not valid ('wsgate import' shows it):\n%w", path, err)
	}
	return cfg, nil
}

// importTemplate is `wsgate import template.yaml [flags]`: the native config on stdout,
// warnings on stderr. The template may come before or after the flags. The config is written
// even when it will not load (a blocking warning, or a value wsgate rejects), so that the user
// can edit it; the command then fails with the reason.
func importTemplate(args []string, stdout, stderr io.Writer) error {
	const use = "usage: wsgate import template.yaml [--function Name=URL] [--parameter Key=Value] [--standin Name=URL] [--stage NAME]"
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	imp := newImportFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New(use)
	}
	path := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected %q; %s", fs.Arg(0), use)
	}
	cfg, warns, err := imp.read(path, stderr, true)
	if err != nil {
		return err
	}
	out, err := config.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := stdout.Write(out); err != nil {
		return err
	}
	if ids := blockingResources(warns); len(ids) > 0 {
		return fmt.Errorf("%s: %s cannot run in wsgate as written (see the warnings above); the config keeps them, and loads once each has a stand-in", path, strings.Join(ids, ", "))
	}
	if _, err := config.Parse("wsgate.yaml", out); err != nil {
		return fmt.Errorf("%s: the imported config does not load; fix these in the output:\n%w", path, err)
	}
	return nil
}

// given reports whether any template flag was set on fs.
func (f *importFlags) given(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "function", "parameter", "standin", "stage", "region", "account-id", "stack-name":
			set = true
		}
	})
	return set
}
