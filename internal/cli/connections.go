package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/spf13/cobra"
)

func (a *app) connectionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connections <command>",
		Short: "List, inspect and close the connections of a running gateway (signed like the AWS SDKs)",
		Long:  "List, inspect and close the connections of a running gateway.\n\n" + mgmtFlagsHelp,
		Example: `  wsgate connections list
  wsgate connections get 'Dwz4leekPHcCG6Q='
  wsgate connections delete 'Dwz4leekPHcCG6Q=' --endpoint https://ws.example.com/prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("usage: wsgate connections list|get|delete")
		},
	}
	cmd.AddCommand(a.connectionsListCmd(), a.connectionsGetCmd(), a.connectionsDeleteCmd())
	return cmd
}

func (a *app) connectionsListCmd() *cobra.Command {
	var f *mgmtFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the live connections on every node (GET /{stage}/@nodes)",
		Long:  "List the live connections on every node: one line each with its id, node, user and connection time.\n\n" + mgmtFlagsHelp,
		Example: `  wsgate connections list
  wsgate connections list --json --config wsgate.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
			defer cancel()
			var out struct {
				Nodes []struct {
					Node        string `json:"node"`
					Connections []struct {
						ConnectionID string `json:"connectionId"`
						UserID       string `json:"userId,omitempty"`
						ConnectedAt  string `json:"connectedAt"`
					} `json:"connections"`
				} `json:"nodes"`
			}
			if err := c.call(ctx, "GET", "@nodes", nil, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(a.stdout, out)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CONNECTION ID\tNODE\tUSER\tCONNECTED AT")
			n := 0
			for _, node := range out.Nodes {
				for _, cn := range node.Connections {
					user := cn.UserID
					if user == "" {
						user = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cn.ConnectionID, node.Node, user, cn.ConnectedAt)
					n++
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "%d connections on %d nodes\n", n, len(out.Nodes))
			return nil
		},
	}
	f = addMgmtFlags(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON, nodes and their connections")
	return cmd
}

func (a *app) connectionsGetCmd() *cobra.Command {
	var f *mgmtFlags
	cmd := &cobra.Command{
		Use:   "get CONNECTION_ID... [flags]",
		Short: "Show connections as GetConnection answers (connectedAt, identity.sourceIp, lastActiveAt)",
		Long:  "Show each connection as API Gateway's GetConnection answers it.\n\n" + mgmtFlagsHelp,
		Example: `  wsgate connections get 'Dwz4leekPHcCG6Q='
  wsgate connections get ID1 ID2 --config wsgate.yaml
  wsgate connections get -- '-8dvY1a-bb1ZN-s='`,
		Annotations: map[string]string{idArgs: "wsgate connections get [flags] -- CONNECTION_ID..."},
		Args:        cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return eachID(cmd.Context(), ids, f.timeout, func(ctx context.Context, id string) error {
				out, err := c.api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
				if err != nil {
					return err
				}
				v := map[string]any{"ConnectionId": id, "ConnectedAt": out.ConnectedAt.Format(time.RFC3339Nano),
					"LastActiveAt": out.LastActiveAt.Format(time.RFC3339Nano)}
				if out.Identity != nil {
					v["Identity"] = map[string]any{"SourceIp": aws.ToString(out.Identity.SourceIp), "UserAgent": aws.ToString(out.Identity.UserAgent)}
				}
				return printJSON(a.stdout, v)
			})
		},
	}
	f = addMgmtFlags(cmd.Flags())
	return cmd
}

func (a *app) connectionsDeleteCmd() *cobra.Command {
	var f *mgmtFlags
	cmd := &cobra.Command{
		Use:   "delete CONNECTION_ID... [flags]",
		Short: "Close connections as DeleteConnection does (their $disconnect runs)",
		Long:  "Close each connection as API Gateway's DeleteConnection does; its $disconnect runs.\n\n" + mgmtFlagsHelp,
		Example: `  wsgate connections delete 'Dwz4leekPHcCG6Q='
  wsgate connections delete -- '-8dvY1a-bb1ZN-s='`,
		Annotations: map[string]string{idArgs: "wsgate connections delete [flags] -- CONNECTION_ID..."},
		Args:        cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return eachID(cmd.Context(), ids, f.timeout, func(ctx context.Context, id string) error {
				if _, err := c.api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "deleted %s\n", id)
				return err
			})
		},
	}
	f = addMgmtFlags(cmd.Flags())
	return cmd
}

// pathEscape escapes one path parameter as the SDKs do.
func pathEscape(s string) string { return url.PathEscape(s) }

// eachID calls one management operation per connection id, each with its own timeout; a failure
// for one id is collected with the id (API errors as "Code: message") and the others still run.
func eachID(ctx context.Context, ids []string, timeout time.Duration, op func(ctx context.Context, id string) error) error {
	var failed error
	for _, id := range ids {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := op(cctx, id)
		cancel()
		if err != nil {
			failed = errors.Join(failed, fmt.Errorf("%s: %w", id, apiError(err)))
		}
	}
	return failed
}
