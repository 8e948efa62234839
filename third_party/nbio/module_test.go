package nbio

import (
	"os"
	"strings"
	"testing"
)

// The gateway must run on this patched copy (PATCH.md): an import of upstream's
// github.com/lesismal/nbio would bring the stale hang-up close back, and under -mod=mod the go
// command would add it to go.mod without a word.
func TestNotUpstreamNbio(t *testing.T) {
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	// The needle is split so that an import rewrite cannot turn it into the fork's own path.
	if strings.Contains(string(b), "github.com/lesismal/"+"nbio") {
		t.Fatal("go.mod requires github.com/lesismal/nbio: import github.com/wsgate/wsgate/third_party/nbio instead (third_party/nbio/PATCH.md)")
	}
}
