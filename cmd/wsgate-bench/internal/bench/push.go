package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/wsclient"
	"github.com/wsgate/wsgate/internal/config"
)

// whoami is the message push sends to learn each connection's id: the push config routes it
// to a MOCK integration that answers {"connectionId":"..."}.
var whoami = []byte(`{"action":"whoami"}`)

var idKey = []byte(`{"connectionId":"`)

// runPush opens the connections, learns their ids, then has Concurrency keep-alive clients
// POST Count messages in all to /@connections/{id}, round robin; deliveries are counted at the
// sockets.
func runPush(r *run, cfg *config.Config, res *Result) error {
	if r.cf != nil {
		return runPushCentrifugo(r, res)
	}
	var known atomic.Int64
	onMessage := func(c *wsclient.Conn, payload []byte) {
		if c.ID.Load() == nil && bytes.HasPrefix(payload, idKey) {
			rest := payload[len(idKey):]
			if i := bytes.IndexByte(rest, '"'); i > 0 {
				id := string(rest[:i])
				c.ID.Store(&id)
				known.Add(1)
				return
			}
		}
		if c.ID.Load() == nil {
			r.fail(fmt.Errorf("whoami: unexpected answer %.100q", payload))
			return
		}
		r.recv.Add(1)
	}
	conns, _, err := r.openConns(connectRate(r.o), onMessage)
	if err != nil {
		return err
	}
	r.setPhase("whoami")
	live := 0
	for _, c := range conns {
		if c != nil {
			live++
			if err := c.Write(whoami); err != nil {
				r.fail(err)
			}
		}
	}
	for known.Load()+r.errs.Load() < int64(live) && r.ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if known.Load() == 0 {
		return fmt.Errorf("no connection learned its id (%s): the config needs a route \"whoami\" answering {\"connectionId\":\"$context.connectionId\"} (see bench/configs/push.yaml)", r.errMsg)
	}
	res.Connections = r.pool.Load().Open()
	r.setPhase("sign")
	signer := NewSigner(r.o.AccessKey, r.o.SecretKey, r.o.Region, r.t.MgmtHost)
	body := []byte(`{"push":"` + strings.Repeat("x", max(r.o.Payload, 0)) + `"}`)
	if r.o.Batch > 1 { // POST @batch of Batch entries (push_batch.go)
		reqs, err := batchRequests(r, signer, conns, body, r.o.Batch)
		if err != nil {
			return err
		}
		return r.post(reqs, r.o.Batch, checkBatch(r.o.Batch), res)
	}
	var reqs []Request
	t0 := time.Now()
	for _, c := range conns {
		if c == nil || c.ID.Load() == nil {
			continue
		}
		req, err := signer.Build(r.ctx, r.t.Mgmt+"/@connections/"+escapeSegment(*c.ID.Load()), body)
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	fmt.Fprintf(r.o.Stderr, "wsgate-bench: %d requests signed in %s (%.1f µs each, done before the run)\n",
		len(reqs), time.Since(t0).Round(time.Millisecond), float64(time.Since(t0).Microseconds())/float64(len(reqs)))
	return r.post(reqs, 1, checkStatus, res)
}

// runBroadcast POSTs Count broadcasts in all to /@broadcast; each reaches every connection.
func runBroadcast(r *run, cfg *config.Config, res *Result) error {
	if r.cf != nil {
		return runBroadcastCentrifugo(r, res)
	}
	var known atomic.Int64
	onMessage := func(c *wsclient.Conn, payload []byte) {
		if r.o.Target == TargetBare && bytes.HasPrefix(payload, idKey) {
			known.Add(1)
			return
		}
		r.recv.Add(1)
	}
	conns, _, err := r.openConns(connectRate(r.o), onMessage)
	if err != nil {
		return err
	}
	if r.o.Target == TargetBare {
		// The floor adds a socket to its map only after its 101 is written (nbio's OnOpen), so a
		// broadcast right after the handshakes could miss the last ones; its answer to whoami
		// says the socket is in the map.
		r.setPhase("whoami")
		live := int64(0)
		for _, c := range conns {
			if c != nil {
				live++
				if err := c.Write(whoami); err != nil {
					r.fail(err)
				}
			}
		}
		for known.Load()+r.errs.Load() < live && r.ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	res.Connections = r.pool.Load().Open()
	signer := NewSigner(r.o.AccessKey, r.o.SecretKey, r.o.Region, r.t.MgmtHost)
	req, err := signer.Build(r.ctx, r.t.Mgmt+"/@broadcast", []byte(`{"broadcast":"`+strings.Repeat("x", max(r.o.Payload, 0))+`"}`))
	if err != nil {
		return err
	}
	return r.post([]Request{req}, 1, checkStatus, res)
}

// checkStatus is how wsgate answers: any 2xx is a success, anything else one error.
func checkStatus(status int, body []byte) (int, string) {
	if status/100 != 2 {
		return 1, fmt.Sprintf("HTTP %d: %.120s", status, body)
	}
	return 0, ""
}

// post sends Count requests in all, round robin over reqs, from Concurrency clients each with
// Pipeline requests in flight, at Rate requests/s in all (0: as fast as answered). Each request
// carries items messages; check counts the errors an answer holds.
func (r *run) post(reqs []Request, items int, check func(status int, body []byte) (int, string), res *Result) error {
	if !r.o.StartAt.IsZero() {
		r.setPhase("wait")
		select {
		case <-time.After(time.Until(r.o.StartAt)):
		case <-r.ctx.Done():
			return fmt.Errorf("--start-at %s: the run's --duration ended first", r.o.StartAt.Format(time.RFC3339))
		}
	}
	r.setPhase("post")
	total := int64(r.o.Count)
	var next atomic.Int64
	var wg sync.WaitGroup
	var paced <-chan int
	if r.o.Rate > 0 {
		paced = pace(r.ctx, int(total), r.o.Rate)
	}
	recv0 := r.recv.Load()
	t0 := time.Now()
	cpu0 := r.gatewayCPU()
	for k := range r.o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := dialHTTP(r.ctx, r.t, uint32(k))
			if err != nil {
				r.fail(fmt.Errorf("management client: %w", err))
				return
			}
			defer h.nc.Close()
			batch := make([]int64, 0, r.o.Pipeline)
			for r.ctx.Err() == nil {
				batch = batch[:0]
				for len(batch) < r.o.Pipeline {
					if paced != nil {
						if _, ok := <-paced; !ok {
							break
						}
					}
					i := next.Add(1) - 1
					if i >= total {
						break
					}
					batch = append(batch, i)
					_, _ = h.bw.Write(reqs[i%int64(len(reqs))])
				}
				if len(batch) == 0 {
					return
				}
				ts := time.Now()
				if err := h.bw.Flush(); err != nil {
					r.fail(fmt.Errorf("management client: %w", err))
					return
				}
				r.sent.Add(int64(len(batch)))
				for range batch {
					status, body, err := h.readResponse()
					if err != nil {
						r.fail(fmt.Errorf("management client: %w", err))
						return
					}
					r.hist.Record(time.Since(ts))
					if n, first := check(status, body); n > 0 {
						r.errs.Add(int64(n - 1))
						r.fail(errors.New(first))
					}
				}
			}
		}()
	}
	wg.Wait()
	postEnd := time.Since(t0)
	// Deliveries may still be on their way through socket buffers: wait until they stop coming.
	r.setPhase("drain")
	last, lastAt := r.recv.Load(), time.Now()
	for time.Since(lastAt) < 300*time.Millisecond && r.ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		if n := r.recv.Load(); n != last {
			last, lastAt = n, time.Now()
		}
	}
	el := time.Since(t0) - time.Since(lastAt) // up to the last delivery
	res.Seconds = el.Seconds()
	res.Rate = float64(r.sent.Load()) / postEnd.Seconds()
	res.Items = r.sent.Load() * int64(items)
	res.MessagesPS = float64(r.recv.Load()-recv0) / el.Seconds()
	res.Errors += r.pool.Load().Lost()
	r.sampleGateway(res, 0)
	res.GatewayCPU = r.gatewayCPU() - cpu0
	return nil
}
