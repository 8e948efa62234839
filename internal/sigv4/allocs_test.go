package sigv4

import "testing"

// TestVerifyAllocs pins SigV4 verification of a PostToConnection as the Go SDK signs it (warm
// signing-key cache) at zero allocations: it runs on every management request.
func TestVerifyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	v, r, body := benchRequest(t)
	n := testing.AllocsPerRun(200, func() {
		if err := v.Verify(r, body); err != nil {
			t.Fatal(err)
		}
	})
	if n > 0 {
		t.Errorf("Verify allocates %v times per request, want 0", n)
	}
}
