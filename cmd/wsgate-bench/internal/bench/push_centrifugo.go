package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/centrifugo"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/wsclient"
)

// runPushCentrifugo is push's Centrifugo side: every connection is subscribed to its own
// channel by its token; each request is POST /api/publish to one connection's channel, or with
// Batch > 1 a POST /api/batch of Batch publications to consecutive connections' channels.
// Deliveries are counted at the sockets, as for wsgate.
func runPushCentrifugo(r *run, res *Result) error {
	conns, _, err := r.openConns(connectRate(r.o), func(*wsclient.Conn, []byte) { r.recv.Add(1) })
	if err != nil {
		return err
	}
	res.Connections = r.pool.Load().Open()
	api := centrifugo.API{Host: r.t.MgmtHost, Prefix: r.o.apiPrefix, Key: r.o.APIKey}
	data := []byte(`{"push":"` + strings.Repeat("x", max(r.o.Payload, 0)) + `"}`)
	batch := max(r.o.Batch, 1)
	var live []int
	for i, c := range conns {
		if c != nil {
			live = append(live, i)
		}
	}
	var reqs []Request
	t0 := time.Now()
	for start := 0; start < len(live); start += batch {
		var req []byte
		var err error
		if batch == 1 {
			req, err = api.Publish(ownChannel(live[start]), data)
		} else {
			items := make([]centrifugo.Item, 0, batch)
			for k := 0; k < batch; k++ {
				items = append(items, centrifugo.Item{Channel: ownChannel(live[(start+k)%len(live)]), Data: data})
			}
			req, err = api.Batch(items, false)
		}
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	fmt.Fprintf(r.o.Stderr, "wsgate-bench: %d API requests of %d publication(s) built in %s (before the run)\n",
		len(reqs), batch, time.Since(t0).Round(time.Millisecond))
	return r.post(reqs, batch, centrifugo.CheckAnswer, res)
}

// runBroadcastCentrifugo is broadcast's Centrifugo side: one POST /api/publish to the channel
// every connection's token subscribed it to, or with BroadcastAPI one POST /api/broadcast
// naming every connection's own channel.
func runBroadcastCentrifugo(r *run, res *Result) error {
	conns, _, err := r.openConns(connectRate(r.o), func(*wsclient.Conn, []byte) { r.recv.Add(1) })
	if err != nil {
		return err
	}
	res.Connections = r.pool.Load().Open()
	api := centrifugo.API{Host: r.t.MgmtHost, Prefix: r.o.apiPrefix, Key: r.o.APIKey}
	data := []byte(`{"broadcast":"` + strings.Repeat("x", max(r.o.Payload, 0)) + `"}`)
	var req []byte
	if r.o.BroadcastAPI {
		var chans []string
		for i, c := range conns {
			if c != nil {
				chans = append(chans, ownChannel(i))
			}
		}
		req, err = api.Broadcast(chans, data)
	} else {
		req, err = api.Publish(channelAll, data)
	}
	if err != nil {
		return err
	}
	return r.post([]Request{req}, 1, centrifugo.CheckAnswer, res)
}
