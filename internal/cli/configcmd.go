package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/wsgate/wsgate/internal/config"
)

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "config <command>",
		Short:   "Config helpers: 'config example' prints a commented config to start from",
		Example: `  wsgate config example > wsgate.yaml`,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("usage: wsgate config example")
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print the embedded demo config, commented: the API 'wsgate serve' runs with no --config",
		Example: `  wsgate config example > wsgate.yaml
  wsgate validate --config wsgate.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := a.stdout.Write(config.Example())
			return err
		},
	})
	return cmd
}
