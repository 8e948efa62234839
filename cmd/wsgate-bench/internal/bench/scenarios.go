package bench

import (
	"fmt"
	"net"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/procstat"
	"github.com/wsgate/wsgate/internal/config"
)

type scenario struct {
	check func(o *Options) error
	run   func(r *run, cfg *config.Config, res *Result) error
}

var scenarios = map[string]scenario{
	"idle":      {checkConns, runIdle},
	"echo":      {checkEcho, runEcho},
	"push":      {checkPush, runPush},
	"broadcast": {checkPush, runBroadcast},
	"churn":     {checkChurn, runChurn},
}

func checkConns(o *Options) error {
	if o.Conns <= 0 {
		return fmt.Errorf("--conns: give how many connections to open (e.g. --conns 10000)")
	}
	return nil
}

func checkEcho(o *Options) error {
	if err := checkConns(o); err != nil {
		return err
	}
	if o.Count <= 0 {
		return fmt.Errorf("--count: give how many messages each connection sends (e.g. --count 100)")
	}
	return nil
}

func checkPush(o *Options) error {
	if err := checkConns(o); err != nil {
		return err
	}
	if o.Count <= 0 {
		return fmt.Errorf("--count: give how many management requests to send in all (e.g. --count 1000000)")
	}
	return nil
}

func checkChurn(o *Options) error {
	if o.Count <= 0 {
		return fmt.Errorf("--count: give how many connect/disconnect cycles to run (e.g. --count 200000)")
	}
	if o.Warmup < 0 {
		return fmt.Errorf("--warmup %d: give a number of cycles, 0 or more", o.Warmup)
	}
	return nil
}

// loadTargetConfig reads the wsgate config when one is given and fills the URL and the
// signing credentials from it where they were not given.
func loadTargetConfig(o *Options) (*config.Config, error) {
	if o.Config == "" {
		if o.Spawn {
			return nil, fmt.Errorf("--spawn needs --config FILE (the config wsgate serve runs)")
		}
		if o.URL == "" {
			return nil, fmt.Errorf("--url: give the gateway's ws://127.0.0.1:PORT/STAGE, or --config FILE to read it from")
		}
		return nil, nil
	}
	cfg, err := config.Load(o.Config)
	if err != nil {
		return nil, err
	}
	if o.URL == "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("%s: listen %q: %w", o.Config, cfg.Listen, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		o.URL = "ws://" + net.JoinHostPort(host, port) + "/" + cfg.Stage
	}
	if o.AccessKey == "" && len(cfg.Management.Credentials) > 0 {
		o.AccessKey = cfg.Management.Credentials[0].AccessKeyID
		o.SecretKey = cfg.Management.Credentials[0].SecretAccessKey
	}
	if o.Region == "" {
		o.Region = cfg.Region
	}
	return cfg, nil
}

// runIdle opens the connections, holds them, and reads the gateway's RSS at the end of the hold.
func runIdle(r *run, _ *config.Config, res *Result) error {
	before := procstat.SelfRSS()
	conns, rate, err := r.openConns(r.o.Rate, nil)
	if err != nil {
		return err
	}
	res.Rate = rate
	res.Connections = r.pool.Load().Open()
	r.setPhase("hold")
	select {
	case <-time.After(r.o.Hold):
	case <-r.ctx.Done():
		r.fail(fmt.Errorf("--duration %s ended before the %s hold", r.o.Duration, r.o.Hold))
	}
	res.Connections = r.pool.Load().Open()
	res.Seconds = r.o.Hold.Seconds()
	r.sampleGateway(res, res.Connections)
	if res.Connections > 0 {
		res.ClientConnB = float64(procstat.SelfRSS()-before) * 1024 / float64(res.Connections)
	}
	res.Errors += r.pool.Load().Lost()
	_ = conns
	return nil
}
