package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/server"
)

func (a *app) validateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate [--config] FILE",
		Short: "Check a config file and report every error at once, each as file:line: key: what to write",
		Example: `  wsgate validate --config wsgate.yaml
  wsgate validate wsgate.yaml
  wsgate config example > wsgate.yaml && wsgate validate --config wsgate.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1 && file != "") {
				return &usageError{cmd, errors.New("validate takes one config file: wsgate validate [--config] FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				file = args[0]
			}
			if file == "" {
				return errors.New("usage: wsgate validate [--config] FILE")
			}
			cfg, err := config.Load(file)
			if err != nil {
				return err
			}
			// What serve builds, built the same way (selection expression, templates,
			// integrations, authorizers), without listening: every error at once.
			if err := server.Check(cfg, nil); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: ok\n", file)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "config `FILE` to check")
	return cmd
}
