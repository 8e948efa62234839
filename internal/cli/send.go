package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/spf13/cobra"
)

func (a *app) sendCmd() *cobra.Command {
	var f *mgmtFlags
	var user, group string
	var all bool
	cmd := &cobra.Command{
		Use:   "send (CONNECTION_ID | --user U | --group G | --all) [MESSAGE | -] [flags]",
		Short: "Send a message to a connection (PostToConnection), a user, a group or everyone",
		Long: `Send a message to one connection (API Gateway's PostToConnection), to every connection of a user,
to the members of a group, or to every connection on every node (wsgate's extensions). The message is the
last argument, or stdin when it is "-" or left out.

` + mgmtFlagsHelp,
		Example: `  wsgate send 'Dwz4leekPHcCG6Q=' '{"news":"from the backend"}'
  wsgate send --user ann '{"msg":"hi"}'
  wsgate send --group room-1 '{"msg":"hi room"}'
  echo '{"msg":"hi all"}' | wsgate send --all
  wsgate send -- '-8dvY1a-bb1ZN-s=' '{"msg":"an id that starts with a dash"}'`,
		Annotations: map[string]string{idArgs: "wsgate send [flags] -- CONNECTION_ID [MESSAGE]"},
		Args:        cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			targets := 0
			for _, set := range []bool{user != "", group != "", all} {
				if set {
					targets++
				}
			}
			if targets > 1 || (targets == 1 && len(args) == 2) {
				return errors.New("give one target: a connection id, --user, --group or --all")
			}
			var id string
			if targets == 0 {
				if len(args) == 0 {
					return errors.New("give a target: a connection id, --user U, --group G or --all")
				}
				id, args = args[0], args[1:]
			}
			var msg []byte
			if len(args) == 0 || args[0] == "-" {
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
				if err != nil {
					return fmt.Errorf("read the message from stdin: %w", err)
				}
				msg = b
			} else {
				msg = []byte(args[0])
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
			defer cancel()
			var out struct {
				Delivered int `json:"delivered"`
			}
			switch {
			case id != "":
				if _, err := c.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
					ConnectionId: aws.String(id), Data: msg,
				}); err != nil {
					return fmt.Errorf("%s: %w", id, apiError(err))
				}
				out.Delivered = 1
			case user != "":
				err = c.call(ctx, "POST", "@users/"+pathEscape(user), msg, &out)
			case group != "":
				err = c.call(ctx, "POST", "@groups/"+pathEscape(group), msg, &out)
			default:
				err = c.call(ctx, "POST", "@broadcast", msg, &out)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "delivered to %d connection(s)\n", out.Delivered)
			return nil
		},
	}
	f = addMgmtFlags(cmd.Flags())
	cmd.Flags().StringVar(&user, "user", "", "send to every connection of user `ID`")
	cmd.Flags().StringVar(&group, "group", "", "send to every member of group `NAME`")
	cmd.Flags().BoolVar(&all, "all", false, "send to every connection on every node")
	return cmd
}
