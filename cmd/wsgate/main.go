// Command wsgate is a self-hosted WebSocket API gateway with the behaviour of Amazon API Gateway
// WebSocket APIs. See the README for the two commands a newcomer needs.
package main

import (
	"os"

	"github.com/wsgate/wsgate/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
