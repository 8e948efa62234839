package bench

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/procstat"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/wsclient"
	"github.com/wsgate/wsgate/internal/config"
)

// echoMessage is what echo sends: a route key for the gateway, the send time for the round
// trip, and filler. The bundled backend and the bare server send it back unchanged.
func echoMessage(dst []byte, now time.Time, filler string) []byte {
	dst = append(dst, `{"action":"echo","t":`...)
	dst = strconv.AppendInt(dst, now.UnixNano(), 10)
	if filler != "" {
		dst = append(dst, `,"f":"`...)
		dst = append(dst, filler...)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

var tKey = []byte(`"t":`)

// sentAt finds the send time in an echoed message.
func sentAt(msg []byte) (time.Time, bool) {
	i := bytes.Index(msg, tKey)
	if i < 0 {
		return time.Time{}, false
	}
	var ns int64
	j := i + len(tKey)
	for ; j < len(msg) && msg[j] >= '0' && msg[j] <= '9'; j++ {
		ns = ns*10 + int64(msg[j]-'0')
	}
	if j == i+len(tKey) {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// runEcho sends Count messages on each of Conns connections, Rate messages/s in all (0: each
// connection sends its next message when the previous answer arrives), and records round trips.
func runEcho(r *run, _ *config.Config, res *Result) error {
	if r.cf != nil {
		return fmt.Errorf("echo: Centrifugo has no echo route (a message needs an RPC proxy to a backend); measure echo on wsgate and the bare floor")
	}
	filler := strings.Repeat("x", max(r.o.Payload, 0))
	total := int64(r.o.Conns) * int64(r.o.Count)
	var perConn []atomic.Int32 // messages each connection has sent
	closedLoop := r.o.Rate <= 0
	var conns []*wsclient.Conn
	send := func(c *wsclient.Conn) {
		var buf [512]byte
		msg := echoMessage(buf[:0], time.Now(), filler)
		if len(msg) > len(buf) {
			msg = echoMessage(nil, time.Now(), filler)
		}
		if err := c.Write(msg); err != nil {
			r.fail(fmt.Errorf("send: %w", err))
			return
		}
		r.sent.Add(1)
	}
	onMessage := func(c *wsclient.Conn, payload []byte) {
		t, ok := sentAt(payload)
		if !ok {
			r.fail(fmt.Errorf("unexpected message %.80q", payload))
			return
		}
		r.hist.Record(time.Since(t))
		r.recv.Add(1)
		if closedLoop && perConn[c.Index].Add(1) < int32(r.o.Count) && r.ctx.Err() == nil {
			send(c)
		}
	}
	perConn = make([]atomic.Int32, r.o.Conns)
	conns, rate, err := r.openConns(connectRate(r.o), onMessage)
	if err != nil {
		return err
	}
	res.Connections = r.pool.Load().Open()
	fmt.Fprintf(r.o.Stderr, "wsgate-bench: %d connections open (%.0f/s); sending\n", res.Connections, rate)
	live := conns[:0:0]
	for _, c := range conns {
		if c != nil {
			live = append(live, c)
		}
	}
	total = int64(len(live)) * int64(r.o.Count)
	r.setPhase("echo")
	t0 := time.Now()
	cpu0 := r.gatewayCPU()
	if closedLoop {
		for _, c := range live {
			perConn[c.Index].Store(0)
			send(c)
		}
	} else {
		for i := range pace(r.ctx, int(total), r.o.Rate) {
			send(live[i%len(live)])
		}
	}
	sendEnd := time.Since(t0)
	// Wait for the answers: until all arrived, the run's time is up, or 5s pass with none.
	r.setPhase("drain")
	last, lastAt := r.recv.Load(), time.Now()
	for r.recv.Load() < r.sent.Load() && r.ctx.Err() == nil && time.Since(lastAt) < 5*time.Second {
		time.Sleep(10 * time.Millisecond)
		if n := r.recv.Load(); n != last {
			last, lastAt = n, time.Now()
		}
	}
	el := time.Since(t0).Seconds()
	res.Seconds = el
	res.Rate = float64(r.sent.Load()) / sendEnd.Seconds()
	res.MessagesPS = float64(r.recv.Load()) / el
	res.Errors += r.sent.Load() - r.recv.Load() + r.pool.Load().Lost()
	r.sampleGateway(res, 0)
	res.GatewayCPU = r.gatewayCPU() - cpu0
	return nil
}

func connectRate(o Options) float64 {
	if o.ConnectRate > 0 {
		return o.ConnectRate
	}
	return 0
}

// gatewayCPU is the gateway's CPU seconds so far (0 without a PID).
func (r *run) gatewayCPU() float64 {
	if r.pid == 0 {
		return 0
	}
	s, err := procstat.Read(r.pid)
	if err != nil {
		return 0
	}
	return s.CPUSecs
}
