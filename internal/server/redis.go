package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus/redisbus"
	"github.com/wsgate/wsgate/internal/registry/redisstore"
)

// openRedis connects the registry and the bus to the Redis that store.url names, through one
// client they share; Shutdown closes it after both. A Redis that does not answer at start is
// an error (a node that starts blind would register nothing); once running, outages are
// survived (see hub.Run).
func (s *Server) openRedis(ctx context.Context, node string) error {
	sc := s.cfg.Store
	client, kind, err := NewRedisClient(sc.URL)
	if err != nil {
		return s.keyErr("store.url", err)
	}
	st, err := redisstore.New(ctx, redisstore.Options{Client: client, Prefix: sc.Prefix})
	if err != nil {
		_ = client.Close()
		return s.keyErr("store.url", fmt.Errorf("%s at %s: %w", kind, redactRedisURL(sc.URL), err))
	}
	b, err := redisbus.New(ctx, client, busPrefix(sc.Prefix), redisbus.WithLogger(s.log))
	if err != nil {
		_ = client.Close()
		return s.keyErr("store.url", fmt.Errorf("%s at %s: %w", kind, redactRedisURL(sc.URL), err))
	}
	s.store, s.bus, s.redis = st, b, client
	redisLogOnce.Do(func() { redis.SetLogger(redisLogger{s.log}) })
	s.log.Info("redis store connected", "redis", kind, "url", redactRedisURL(sc.URL), "prefix", sc.Prefix, "node", node)
	return nil
}

func busPrefix(p string) string {
	if p == "" {
		return redisstore.DefaultPrefix
	}
	return p
}

// NewRedisClient builds the go-redis client store.url describes, and names its kind for logs:
//
//   - redis://[user:pass@]host:6379/0, rediss://... (TLS) or unix:///path.sock: one server.
//   - ...?master_name=NAME: Sentinel. The host (plus any addr=HOST:PORT parameters, or a
//     comma-separated host list) are the sentinels; the path's number is the database.
//   - a comma-separated host list (redis://h1:6379,h2:6379), addr=HOST:PORT parameters, or
//     cluster=true: Redis Cluster, with those hosts as seeds (Cluster has only database 0).
//
// Other query parameters are go-redis options in snake case (dial_timeout=3s, pool_size=20);
// unknown ones are an error.
func NewRedisClient(raw string) (redis.UniversalClient, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%q is not a URL: %w", redactRedisURL(raw), err)
	}
	q := u.Query()
	cluster := false
	if v := q.Get("cluster"); v != "" {
		if v != "true" && v != "false" {
			return nil, "", fmt.Errorf("cluster=%q: write cluster=true or leave it out", v)
		}
		cluster = v == "true"
		q.Del("cluster")
	}
	if u.Scheme != "unix" && strings.Contains(u.Host, ",") {
		hosts := strings.Split(u.Host, ",")
		for _, h := range hosts {
			if h == "" {
				return nil, "", fmt.Errorf("%q: empty host in the comma-separated list", redactRedisURL(raw))
			}
		}
		u.Host = hosts[0]
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
	}
	u.RawQuery = q.Encode()
	norm := u.String()
	// A command against a Redis that is down should fail within about a second, so that the
	// node reports not-ready and answers 500 promptly; the hub and the bus retry with backoff.
	fastFail := !q.Has("dialer_retries")
	switch {
	case q.Get("master_name") != "":
		o, err := redis.ParseFailoverURL(norm)
		if err != nil {
			return nil, "", fmt.Errorf("sentinel url %q: %w", redactRedisURL(raw), err)
		}
		if fastFail {
			o.DialerRetries = 1
		}
		return redis.NewFailoverClient(o), "sentinel", nil
	case cluster || q.Has("addr"):
		if u.Path != "" && u.Path != "/" && u.Path != "/0" {
			return nil, "", fmt.Errorf("cluster url %q: Redis Cluster has only database 0; remove the path %s", redactRedisURL(raw), u.Path)
		}
		u.Path = ""
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("cluster url %q: %w", redactRedisURL(raw), err)
		}
		if fastFail {
			o.DialerRetries = 1
		}
		return redis.NewClusterClient(o), "cluster", nil
	}
	o, err := redis.ParseURL(norm)
	if err != nil {
		return nil, "", fmt.Errorf("%q: %w (write redis://[user:password@]host:port/db)", redactRedisURL(raw), err)
	}
	o.DialerRetries = 1
	return redis.NewClient(o), "redis", nil
}

// redactRedisURL hides a password before a URL is logged or shown in an error.
func redactRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			return "***" + raw[i:]
		}
		return raw
	}
	return u.Redacted()
}

// closeRedis closes the shared client; the store and bus do not own it.
func (s *Server) closeRedis() error {
	if s.redis == nil {
		return nil
	}
	err := s.redis.Close()
	if errors.Is(err, redis.ErrClosed) {
		return nil
	}
	return err
}

// go-redis logs through one process-wide logger; the first node to open Redis routes it into
// its own log at debug level, since the hub and the bus already report outages clearly.
var redisLogOnce sync.Once

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Debug("redis client: " + fmt.Sprintf(format, v...))
}
