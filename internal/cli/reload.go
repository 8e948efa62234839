package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/server"
)

// reloadFunc loads the config serve was started from again (with the command line's overrides
// applied), or returns why it cannot.
type reloadFunc func() (*config.Config, error)

// reload loads and applies the config once. On success it returns the new config; on any error
// it logs each problem on a line of its own (file:line: key: what to write) and returns nil: the
// node goes on serving the config it had.
func reload(log *slog.Logger, srv *server.Server, load reloadFunc, trigger string) *config.Config {
	cfg, err := load()
	if err == nil {
		var restart []string
		if restart, err = srv.Reload(cfg); err == nil {
			log.Info("config reloaded: new handshakes, messages and management calls use it; no socket was closed", "trigger", trigger)
			if len(restart) > 0 {
				log.Warn("config reloaded, but these settings only change on restart and keep their running values", "keys", restart)
			}
			return cfg
		}
	}
	for _, line := range errorLines(err) {
		log.Error("reload refused", "trigger", trigger, "error", line)
	}
	log.Error("reload refused: still serving the previous config", "trigger", trigger, "errors", len(errorLines(err)))
	return nil
}

// errorLines splits a config error into its problems (config.Errors has one per key).
func errorLines(err error) []string {
	if es, ok := errors.AsType[config.Errors](err); ok && len(es) > 0 {
		lines := make([]string, len(es))
		for i, e := range es {
			lines[i] = e.Error()
		}
		return lines
	}
	return []string{err.Error()}
}

// watchDebounce lets an editor or a Kubernetes ConfigMap update finish writing (several
// events) before the file is read.
const watchDebounce = 300 * time.Millisecond

// watchFile sends on changed, until ctx is done, each time the content of path differs from
// what it was when last seen. It watches path's directory, not the file, so that editors that
// write a new file and rename it, and Kubernetes' ConfigMap volumes (which swap a ..data
// symlink), are seen too.
func watchFile(ctx context.Context, log *slog.Logger, path string, changed chan<- struct{}) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		_ = w.Close()
		return err
	}
	sum := func() [sha256.Size]byte {
		b, _ := os.ReadFile(path) // a missing file reads as empty: its return is a change
		return sha256.Sum256(b)
	}
	last := sum()
	go func() {
		defer w.Close()
		var debounce <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-w.Events:
				if !ok {
					return
				}
				debounce = time.After(watchDebounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("--watch-config: watcher error", observe.KeyError, err)
			case <-debounce:
				debounce = nil
				if now := sum(); !bytes.Equal(now[:], last[:]) {
					last = now
					select {
					case changed <- struct{}{}:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	return nil
}
