package clustertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// Bench sizes: sockets spread evenly over the nodes, and keep-alive HTTP clients posting.
const (
	benchConns   = 300
	benchClients = 32
)

// BenchmarkScaleOut measures PostToConnection throughput through the management API, counted
// where it matters: frames read at the client sockets. Each topology runs in the same process
// run on the same machine, so the numbers compare:
//
//	memory-1node  one node, the default in-process store
//	redis-1node   one node on Redis (every push takes the node's own stream, see hub.OrderViaBus)
//	redis-3nodes  three nodes on one Redis; each push goes to a node picked round robin, so
//	              two thirds of them cross to the socket's owner through Redis
//
// Requests are SigV4-signed once per (node, connection) before the clock starts (a signature
// stays valid for minutes), so the load generator spends its CPU on HTTP, not on signing.
func BenchmarkScaleOut(b *testing.B) {
	topos := []struct {
		name  string
		nodes int
		store func(r *testredis.Server, i int) string
	}{
		{"memory-1node", 1, func(*testredis.Server, int) string { return "{ type: memory }" }},
		{"redis-1node", 1, func(r *testredis.Server, i int) string {
			return fmt.Sprintf("{ type: redis, url: %q, prefix: b1, nodeId: n%d }", r.URL(), i)
		}},
		{"redis-3nodes", 3, func(r *testredis.Server, i int) string {
			return fmt.Sprintf("{ type: redis, url: %q, prefix: b3, nodeId: n%d }", r.URL(), i)
		}},
	}
	be := newBackend(b)
	var r *testredis.Server
	for _, tp := range topos {
		if r == nil {
			r = testredis.Start(b)
		}
		var nodes []*harness.Process
		for i := range tp.nodes {
			nodes = append(nodes, harness.StartProcess(b, wsgateBin, fmt.Sprintf("%s-%d", tp.name, i), configYAML(tp.store(r, i), "info", be.URL())))
		}
		bs := newBenchSockets(b, nodes)
		reqs := presign(b, nodes, bs.ids)
		b.Run(tp.name, func(b *testing.B) { bs.run(b, reqs) })
		bs.close()
		for _, g := range nodes {
			g.Kill()
		}
	}
}

// benchSockets are the clients' sockets; each counts the frames it reads.
type benchSockets struct {
	conns    []*websocket.Conn
	ids      []string
	received atomic.Int64
	wg       sync.WaitGroup
}

func newBenchSockets(b *testing.B, nodes []*harness.Process) *benchSockets {
	bs := &benchSockets{}
	for i := range benchConns {
		g := nodes[i%len(nodes)]
		c := connect(b, g, fmt.Sprintf("u%d", i))
		// connect's reader goroutine owns the socket: count what it queues.
		bs.ids = append(bs.ids, c.id)
		bs.conns = append(bs.conns, c.ws)
		bs.wg.Go(func() {
			for {
				select {
				case <-c.msgs:
					bs.received.Add(1)
				case <-c.done:
					return
				}
			}
		})
	}
	return bs
}

func (bs *benchSockets) close() {
	for _, c := range bs.conns {
		_ = c.CloseNow()
	}
	bs.wg.Wait()
}

// signedReq is a ready POST: its URL and signed headers.
type signedReq struct {
	url    string
	header http.Header
}

var benchBody = []byte(`{"push":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`)

// presign signs one POST per (connection, node); request i goes to connection i%conns via
// node (i/conns)%nodes, so every node posts to every connection.
func presign(b *testing.B, nodes []*harness.Process, ids []string) [][]signedReq {
	sum := sha256.Sum256(benchBody)
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	out := make([][]signedReq, len(ids))
	for i, id := range ids {
		for _, g := range nodes {
			req, _ := http.NewRequest("POST", base(g)+"/@connections/"+esc(id), nil)
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
				b.Fatal(err)
			}
			out[i] = append(out[i], signedReq{url: req.URL.String(), header: req.Header})
		}
	}
	return out
}

func (bs *benchSockets) run(b *testing.B, reqs [][]signedReq) {
	start := bs.received.Load()
	var next atomic.Int64
	var failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			defer hc.CloseIdleConnections()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				conn := i % len(reqs)
				r := reqs[conn][(i/len(reqs))%len(reqs[conn])]
				req, _ := http.NewRequest("POST", r.url, bytes.NewReader(benchBody))
				req.Header = r.header.Clone()
				resp, err := hc.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	want := start + int64(b.N) - failed.Load()
	deadline := time.Now().Add(60 * time.Second)
	for bs.received.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d pushes failed", n, b.N)
	}
	if got := bs.received.Load() - start; got != int64(b.N) {
		b.Fatalf("%d of %d pushes reached the sockets", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pushes/s")
}
