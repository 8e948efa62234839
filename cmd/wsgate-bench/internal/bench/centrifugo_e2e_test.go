package bench_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/bench"
)

// centrifugoBin is a Centrifugo v6 binary: $WSGATE_BENCH_CENTRIFUGO, else centrifugo on $PATH.
// The project neither ships nor builds Centrifugo, so CI skips the test that needs one.
func centrifugoBin(t *testing.T) string {
	if p := os.Getenv("WSGATE_BENCH_CENTRIFUGO"); p != "" {
		return p
	}
	p, err := exec.LookPath("centrifugo")
	if err != nil {
		t.Skip("no Centrifugo server: set WSGATE_BENCH_CENTRIFUGO=/path/to/centrifugo (v6) or put centrifugo on $PATH to run the generator's Centrifugo target against a real one")
	}
	return p
}

// TestScenariosAgainstCentrifugo runs every scenario of the Centrifugo target against a real
// Centrifugo started by the generator (--spawn) from a config of the bench config's shape.
func TestScenariosAgainstCentrifugo(t *testing.T) {
	bin := centrifugoBin(t)
	raw, err := os.ReadFile("../../../../bench/configs/centrifugo.json")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(freePort(t))
	cfg := filepath.Join(t.TempDir(), "centrifugo.json")
	if err := os.WriteFile(cfg, bytes.Replace(raw, []byte(`"port": 18000`), []byte(`"port": `+port), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	o := func(scenario string) bench.Options {
		return bench.Options{Scenario: scenario, Target: bench.TargetCentrifugo, Config: cfg, Spawn: true, Centrifugo: bin}
	}
	with := func(b bench.Options, f func(*bench.Options)) bench.Options { f(&b); return b }

	r := run(t, with(o("idle"), func(b *bench.Options) { b.Conns, b.Hold = 20, 1 }))
	if r.Connections != 20 || r.GatewayRSS <= 0 || r.P99 == nil || r.Kind != "centrifugo" || r.LoadStart[0] <= 0 {
		t.Fatalf("idle anonymous: %+v", r)
	}
	r = run(t, with(o("idle"), func(b *bench.Options) { b.Conns, b.Hold, b.JWT = 20, 1, true }))
	if r.Connections != 20 {
		t.Fatalf("idle with tokens: %+v", r)
	}
	r = run(t, with(o("push"), func(b *bench.Options) { b.Conns, b.Count, b.Concurrency, b.Pipeline = 20, 200, 2, 4 }))
	if r.Sent != 200 || r.Received != 200 || r.Items != 200 {
		t.Fatalf("push by /api/publish: %+v", r)
	}
	r = run(t, with(o("push"), func(b *bench.Options) { b.Conns, b.Count, b.Batch, b.Concurrency = 20, 20, 10, 2 }))
	if r.Sent != 20 || r.Received != 200 || r.Items != 200 {
		t.Fatalf("push by /api/batch: %+v", r)
	}
	r = run(t, with(o("broadcast"), func(b *bench.Options) { b.Conns, b.Count, b.Concurrency = 20, 5, 1 }))
	if r.Sent != 5 || r.Received != 100 {
		t.Fatalf("broadcast by publication: %+v", r)
	}
	r = run(t, with(o("broadcast"), func(b *bench.Options) { b.Conns, b.Count, b.Concurrency, b.BroadcastAPI = 20, 5, 1, true }))
	if r.Sent != 5 || r.Received != 100 {
		t.Fatalf("broadcast by /api/broadcast: %+v", r)
	}
	for _, jwt := range []bool{false, true} {
		r = run(t, with(o("churn"), func(b *bench.Options) { b.Count, b.Concurrency, b.JWT = 30, 4, jwt }))
		if r.Sent != 30 {
			t.Fatalf("churn (tokens %v): %+v", jwt, r)
		}
	}

	// The wrong API key: every publish is refused and counted; a token signed with another
	// secret: every connect is refused and counted.
	var out bytes.Buffer
	b := with(o("push"), func(b *bench.Options) { b.Conns, b.Count, b.Concurrency, b.APIKey = 2, 4, 1, "wrong" })
	b.Stdout, b.Stderr = &out, io.Discard
	if err := bench.Run(b); err != nil || !strings.Contains(out.String(), "errors=4") || !strings.Contains(out.String(), "HTTP 401") {
		t.Fatalf("wrong API key: %v %s", err, out.String())
	}
	out.Reset()
	b = with(o("churn"), func(b *bench.Options) { b.Count, b.Concurrency, b.JWT, b.HMACSecret = 3, 1, true, "wrong" })
	b.Stdout, b.Stderr = &out, io.Discard
	if err := bench.Run(b); err != nil || !strings.Contains(out.String(), "errors=3") || !strings.Contains(out.String(), "3500") {
		t.Fatalf("wrong token secret: %v %s", err, out.String())
	}
	// echo is refused with the reason.
	if err := bench.Run(with(o("echo"), func(b *bench.Options) { b.Conns, b.Count, b.Spawn = 1, 1, false })); err == nil || !strings.Contains(err.Error(), "no echo route") {
		t.Fatalf("echo: %v", err)
	}
}
