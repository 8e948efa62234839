// Package clustertest runs several wsgate processes against one real redis-server and checks
// that every API works from any node: cross-node delivery, dead-node cleanup, Redis outages and
// graceful shutdown. The wsgate binary is built once per test run.
package clustertest

import (
	"fmt"
	"os"
	"testing"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// wsgateBin is the binary built by TestMain.
var wsgateBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wsgate-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if wsgateBin, err = harness.BuildWsgate(dir, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, "clustertest: go build ./cmd/wsgate failed:", err)
		return 1
	}
	return m.Run()
}
