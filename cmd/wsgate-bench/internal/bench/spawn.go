package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/cmd/wsgate-bench/internal/target"
)

// child is a server process the run started and stops.
type child struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
}

// spawn starts `wsgate serve --config` (Spawn) or this binary's bare-server (SpawnBare) and
// waits until it accepts TCP connections on the target's address.
func spawn(o *Options, t *target.Target) (*child, error) {
	var cmd *exec.Cmd
	switch {
	case o.Target == TargetCentrifugo:
		bin := o.Centrifugo
		if bin == "" {
			p, err := exec.LookPath("centrifugo")
			if err != nil {
				return nil, errors.New("--spawn --target centrifugo: no centrifugo in $PATH; give --centrifugo PATH (a Centrifugo v6 binary you built or downloaded)")
			}
			bin = p
		}
		cmd = exec.Command(bin, "-c", o.Config)
	case o.SpawnBare:
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		args := []string{"bare-server", "--listen", t.HostPort}
		if o.Scenario == "push" || o.Scenario == "broadcast" {
			args = append(args, "--push") // whoami and the two POSTs; the other scenarios keep the floor stateless
		}
		if o.Integration != "" {
			args = append(args, "--integration", o.Integration)
			if o.IntegrationClient != "" {
				args = append(args, "--integration-client", o.IntegrationClient)
			}
		}
		cmd = exec.Command(self, args...)
	default:
		bin, err := wsgateBinary(o.Wsgate)
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(bin, "serve", "--config", o.Config)
	}
	cmd.Stdout, cmd.Stderr = o.Stderr, o.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the generator
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", cmd.Path, err)
	}
	c := &child{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	fmt.Fprintf(o.Stderr, "wsgate-bench: started %s (pid %d)\n", cmd.String(), c.pid)
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", t.HostPort, time.Second)
		if err == nil {
			_ = conn.Close()
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited before listening on %s: %s", cmd.Path, t.HostPort, cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop(io.Discard)
			return nil, fmt.Errorf("%s did not listen on %s within 15s", cmd.Path, t.HostPort)
		}
	}
}

// stop sends SIGTERM to the child's PID, waits up to 20s, then SIGKILLs it.
func (c *child) stop(log io.Writer) {
	_ = syscall.Kill(c.pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		fmt.Fprintf(log, "wsgate-bench: pid %d ignored SIGTERM for 20s; killing it\n", c.pid)
		_ = syscall.Kill(c.pid, syscall.SIGKILL)
		<-c.done
	}
	fmt.Fprintf(log, "wsgate-bench: stopped pid %d\n", c.pid)
}

// wsgateBinary finds the wsgate binary: the flag, then next to this binary, then $PATH.
func wsgateBinary(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "wsgate")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("wsgate")
	if err != nil {
		return "", errors.New("--spawn: no wsgate binary next to wsgate-bench or in $PATH; build it (go build -o bin/ ./cmd/...) or give --wsgate PATH")
	}
	return p, nil
}
