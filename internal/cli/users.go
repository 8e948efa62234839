package cli

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) usersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "users <command>",
		Short:   "Presence of users on a running gateway (wsgate's @users extension)",
		Long:    "Presence of users on a running gateway (docs/management-api.md).\n\n" + mgmtFlagsHelp,
		Example: `  wsgate users get ann,bob`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return errors.New("usage: wsgate users get IDS") },
	}
	cmd.AddCommand(a.usersGetCmd())
	return cmd
}

func (a *app) usersGetCmd() *cobra.Command {
	var f *mgmtFlags
	cmd := &cobra.Command{
		Use:   "get USER_ID[,USER_ID...]... [flags]",
		Short: "Show whether users are online, how many connections each has and when each was last active",
		Long:  "Show the presence of up to 100 users (GET /{stage}/@users?ids=...), in the order given.\n\n" + mgmtFlagsHelp,
		Example: `  wsgate users get ann
  wsgate users get ann,bob carol`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ids []string
			for _, a := range args {
				for id := range strings.SplitSeq(a, ",") {
					if id != "" {
						ids = append(ids, id)
					}
				}
			}
			if len(ids) == 0 {
				return errors.New("give at least one user id")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
			defer cancel()
			q := url.Values{}
			for _, id := range ids {
				q.Add("ids", id)
			}
			var out any
			if err := c.call(ctx, "GET", "@users?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			return printJSON(a.stdout, out)
		},
	}
	f = addMgmtFlags(cmd.Flags())
	return cmd
}
