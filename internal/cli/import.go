package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wsgate/wsgate/internal/cfn"
	"github.com/wsgate/wsgate/internal/config"
)

// importFlags are the flags `serve --template` and `import` share: they fill cfn.Options.
type importFlags struct {
	functions, parameters, standins     pairs
	stage, region, accountID, stackName string
	// awsEndpoints are the --aws-endpoint-url flags of the command (queue URLs follow them).
	awsEndpoints endpointFlag
	jwt          *jwtFlags
	fs           *pflag.FlagSet // the command's flags, to tell which were given
}

func newImportFlags(fs *pflag.FlagSet) *importFlags {
	f := &importFlags{functions: pairs{}, parameters: pairs{}, standins: pairs{}}
	fs.Var(f.functions, "function", "the Lambda Invoke API endpoint `Name=URL` of a function, by logical id or FunctionName (repeatable)")
	fs.Var(f.parameters, "parameter", "a template parameter `Key=Value` (repeatable)")
	fs.Var(f.standins, "standin", "an HTTP stand-in `Name=URL` for an AWS service integration, by logical id (repeatable)")
	fs.StringVar(&f.stage, "stage", "", "the stage to serve (`NAME`: StageName or logical id) when the template has several")
	fs.StringVar(&f.region, "region", "", "AWS::Region `NAME` (default "+cfn.DefaultRegion+")")
	fs.StringVar(&f.accountID, "account-id", "", "AWS::AccountId `ID` (default "+cfn.DefaultAccountID+")")
	fs.StringVar(&f.stackName, "stack-name", "", "AWS::StackName `NAME` (default "+cfn.DefaultStackName+")")
	f.jwt, f.fs = addJWTFlags(fs), fs
	return f
}

func (f *importFlags) options() (cfn.Options, error) {
	jwt, err := f.jwt.authorizers(f.fs)
	if err != nil {
		return cfn.Options{}, err
	}
	return cfn.Options{
		Parameters: f.parameters, Functions: f.functions, Standins: f.standins,
		Stage: f.stage, Region: f.region, AccountID: f.accountID, StackName: f.stackName,
		AWSEndpoints: sqsEndpoint(f.awsEndpoints), JWTAuthorizers: jwt,
	}, nil
}

// read imports the template at path and prints its warnings to stderr, each once, as
// "warning: Resource.Properties.Property: message". Blocking warnings are printed only when
// printBlocking is set (serve reports them in its error instead, so they appear once).
func (f *importFlags) read(path string, stderr io.Writer, printBlocking bool) (*config.Config, []cfn.Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read template: %w", err)
	}
	o, err := f.options()
	if err != nil {
		return nil, nil, err
	}
	cfg, warns, err := cfn.Import(path, data, o)
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
		var es config.Errors
		if errors.As(err, &es) {
			// Name the template's line where the faulty value is written (an integration URI
			// with a placeholder such as <your-url-domain>), so the fix is one jump away.
			if data, rerr := os.ReadFile(path); rerr == nil {
				located := make(config.Errors, len(es))
				for i, e := range es {
					located[i] = e
					if name, v := valueAt(cfg, e.Path); v != "" {
						if line := lineContaining(data, name, v); line > 0 {
							located[i].File, located[i].Line = path, line
						}
					}
				}
				err = located
			}
		}
		return nil, fmt.Errorf("%s: the imported config is not valid ('wsgate import' shows it):\n%w", path, err)
	}
	return cfg, nil
}

func (a *app) importCmd() *cobra.Command {
	var imp *importFlags
	cmd := &cobra.Command{
		Use:   "import template.yaml [flags]",
		Short: "Turn a CloudFormation/SAM template into a wsgate config (on stdout; warnings on stderr)",
		Long: `Turn a CloudFormation/SAM template into a wsgate config: the config on stdout, each warning once on
stderr. The config is written even when it will not load (a value wsgate rejects), so that it can be edited; the command then exits 1 with the reason.
docs/templates.md explains what maps to what.`,
		Example: `  wsgate import template.yaml > wsgate.yaml
  wsgate import template.yaml --function EchoFunction=http://127.0.0.1:9001 --parameter StageName=test
  wsgate import template.yaml --standin ConnectIntegration=http://127.0.0.1:8000/connections --stage prod
  wsgate import template.yaml --aws-endpoint-url dynamodb=http://127.0.0.1:4567`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return importTemplate(imp, args, a.stdout, a.stderr)
		},
	}
	imp = newImportFlags(cmd.Flags())
	imp.awsEndpoints = addAWSEndpointFlag(cmd.Flags())
	return cmd
}

// importTemplate is `wsgate import template.yaml [flags]`: the native config on stdout,
// warnings on stderr. The template may come before or after the flags. The config is written
// even when it will not load (a blocking warning, or a value wsgate rejects), so that the user
// can edit it; the command then fails with the reason.
func importTemplate(imp *importFlags, args []string, stdout, stderr io.Writer) error {
	const use = "usage: wsgate import template.yaml [--function Name=URL] [--parameter Key=Value] [--standin Name=URL] [--stage NAME]"
	if len(args) == 0 {
		return errors.New(use)
	}
	path := args[0]
	if len(args) > 1 {
		return fmt.Errorf("unexpected %q; %s", args[1], use)
	}
	cfg, warns, err := imp.read(path, stderr, true)
	if err != nil {
		return err
	}
	applyAWSEndpoints(cfg, imp.awsEndpoints)
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
func (f *importFlags) given(fs *pflag.FlagSet) bool {
	for _, name := range append([]string{"function", "parameter", "standin", "stage", "region", "account-id", "stack-name"}, jwtFlagNames...) {
		if fs.Changed(name) {
			return true
		}
	}
	return false
}

// valueAt is the integration (the template's resource) and the string an error's config path
// names, where it is one the template writes as is (an integration's uri, endpoint or
// standin); "" otherwise.
func valueAt(cfg *config.Config, path string) (name, value string) {
	rest, ok := strings.CutPrefix(path, "integrations.")
	if !ok {
		return "", ""
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return "", ""
	}
	name = rest[:i]
	in, ok := cfg.Integrations[name]
	if !ok {
		return "", ""
	}
	switch rest[i+1:] {
	case "uri":
		return name, in.URI
	case "endpoint":
		return name, in.Endpoint
	case "standin":
		return name, in.Standin
	}
	return "", ""
}

// lineContaining is the 1-based line of the first occurrence of v in data after the resource
// name's key (anywhere when the name is not found), or 0.
func lineContaining(data []byte, name, v string) int {
	from := 0
	if i := bytes.Index(data, []byte(name+":")); i >= 0 {
		from = i
	} else if i := bytes.Index(data, []byte(`"`+name+`"`)); i >= 0 { // a JSON template
		from = i
	}
	i := bytes.Index(data[from:], []byte(v))
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:from+i], []byte("\n")) + 1
}
