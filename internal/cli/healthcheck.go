package cli

import (
	"cmp"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) healthcheckCmd() *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL]",
		Short: "Exit 0 if a gateway answers its health URL with 200 (for images without a shell)",
		Long: `Exit 0 if the gateway answers GET --url with 200, 1 otherwise. Container images without a shell or
curl use it as their HEALTHCHECK. The URL is --url, else $WSGATE_HEALTH_URL, else
http://127.0.0.1:8080/healthz (/readyz is the readiness check: 503 while the store is unreachable).`,
		Example: `  wsgate healthcheck
  wsgate healthcheck --url http://127.0.0.1:9090/readyz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u := cmp.Or(url, os.Getenv("WSGATE_HEALTH_URL"), "http://127.0.0.1:8080/healthz")
			resp, err := (&http.Client{Timeout: timeout}).Get(u)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", u, resp.Status)
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", u, resp.Status)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "health `URL` to GET")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}
