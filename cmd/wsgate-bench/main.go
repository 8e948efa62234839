// Command wsgate-bench is wsgate's load generator: idle, echo, push, broadcast and churn
// scenarios against a gateway on loopback, a bundled backend, and a bare nbio server as the
// floor. See docs/benchmarks.md.
package main

import (
	"os"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/bench"
)

func main() {
	os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr))
}
