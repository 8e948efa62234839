package bench

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/centrifugo"
	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/wsclient"
	"github.com/wsgate/wsgate/internal/config"
)

// runChurn opens and closes Count connections, Concurrency at a time, at Rate connects/s in
// all (0: as fast as they complete). Each handshake runs the gateway's authorizer and $connect;
// each close its $disconnect. The client closes as RFC 6455 §7.1.1 asks: it sends a close frame
// (1000), reads until the server has answered it and closed the TCP connection, then closes its
// socket, so every server pays for the close handshake it owes (a client that closes its socket
// right after its close frame can make a server skip its answer, or pay for a reset instead).
// Source addresses are spread over 249 loopback addresses. Against
// Centrifugo a cycle also sends the connect command (with the connection's token, if any) and
// waits for its result before closing: a connection is not usable there before it.
func runChurn(r *run, _ *config.Config, res *Result) error {
	d := &wsclient.Dialer{Target: r.t, Header: r.o.Header, Timeout: 10 * time.Second}
	if r.o.Warmup > 0 {
		r.setPhase("warmup")
		churn(r, d, pace(r.ctx, r.o.Warmup, r.o.Rate), r.o.Count, nil)
	}
	r.setPhase("churn")
	t0 := time.Now()
	cpu0 := r.gatewayCPU()
	var ok atomic.Int64
	churn(r, d, pace(r.ctx, r.o.Count, r.o.Rate), 0, &ok)
	el := time.Since(t0).Seconds()
	res.Seconds = el
	res.Rate = float64(ok.Load()) / el
	res.Warmup = r.o.Warmup
	r.sampleGateway(res, 0)
	res.GatewayCPU = r.gatewayCPU() - cpu0
	return nil
}

// churn runs a connect+close cycle for every index next yields, Concurrency at a time, as
// connection first+index (its token). ok nil: a warm-up, recorded nowhere (its errors are
// still reported).
func churn(r *run, d *wsclient.Dialer, next <-chan int, first int, ok *atomic.Int64) {
	var wg sync.WaitGroup
	for range r.o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				i += first
				ts := time.Now()
				nc, early, err := d.Dial(r.ctx, r.dialHeader(i))
				if err != nil {
					r.fail(fmt.Errorf("connect: %w", err))
					continue
				}
				if r.cf != nil {
					if err := centrifugoConnect(nc, early, r.tokenFor(i)); err != nil {
						r.fail(err)
						_ = nc.Close()
						continue
					}
				}
				if ok != nil {
					r.conn.Record(time.Since(ts))
					r.sent.Add(1)
					ok.Add(1)
				}
				_, _ = nc.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8})
				if err := awaitClose(nc); err != nil {
					r.fail(err)
				}
				_ = nc.Close()
			}
		}()
	}
	wg.Wait()
}

// closeWait bounds how long a churn cycle waits for the server to close after its close frame.
const closeWait = 5 * time.Second

// awaitClose reads (and drops) what the server sends after the client's close frame until the
// server closes the connection: its close frame, then EOF (or a reset). An error only if the
// server keeps the connection open for closeWait.
func awaitClose(nc net.Conn) error {
	_ = nc.SetReadDeadline(time.Now().Add(closeWait))
	var buf [512]byte
	for {
		if _, err := nc.Read(buf[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("close: the server did not close the connection within %s of the client's close frame", closeWait)
			}
			return nil
		}
	}
}

// centrifugoConnect sends the connect command on a fresh socket and reads until its result.
func centrifugoConnect(nc net.Conn, early []byte, token string) error {
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	if err := wsclient.WriteText(nc, centrifugo.ConnectCommand(nil, 1, token)); err != nil {
		return fmt.Errorf("connect command: %w", err)
	}
	for {
		msg, err := wsclient.ReadText(nc, early)
		if err != nil {
			return fmt.Errorf("connect command: %w", err)
		}
		early = nil
		var res error
		done := false
		if err := centrifugo.Decode(msg, func(rp centrifugo.Reply) {
			switch rp.Kind {
			case centrifugo.Connected:
				done = true
			case centrifugo.Error, centrifugo.Disconnect:
				done, res = true, fmt.Errorf("centrifugo refused the connect: %d %s", rp.Code, rp.Message)
			}
		}); err != nil {
			return err
		}
		if done {
			return res
		}
	}
}
