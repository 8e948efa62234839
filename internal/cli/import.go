package cli

import (
	"errors"
	"flag"
	"io"

	"github.com/wsgate/wsgate/internal/config"
)

type importFlags struct {
	functions, parameters, standins pairs
}

func newImportFlags(fs *flag.FlagSet) *importFlags {
	f := &importFlags{functions: pairs{}, parameters: pairs{}, standins: pairs{}}
	fs.Var(f.functions, "function", "Name=URL: a function's Lambda Invoke API endpoint (repeatable)")
	fs.Var(f.parameters, "parameter", "Key=Value: a template parameter (repeatable)")
	fs.Var(f.standins, "standin", "Name=URL: an HTTP stand-in for an AWS service integration (repeatable)")
	return f
}

func (f *importFlags) load(path string, stderr io.Writer) (*config.Config, error) {
	return nil, errors.New("templates: not wired yet")
}

func importTemplate(args []string, stdout, stderr io.Writer) error {
	return errors.New("import: not wired yet")
}
