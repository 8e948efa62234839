package server_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain keeps the local CA of every node these tests start in a temporary state directory,
// not in the user's ~/.local/state/wsgate.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wsgate-server-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("WSGATE_STATE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
