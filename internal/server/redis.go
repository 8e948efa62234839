package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/bus/redisbus"
	"github.com/wsgate/wsgate/internal/redisx"
	"github.com/wsgate/wsgate/internal/registry/redisstore"
)

// openRedis connects the registry and the bus to the Redis that store.url names, through one
// client they share (redisx.NewClient); Shutdown closes it after both. A Redis that does not
// answer at start is an error (a node that starts blind would register nothing); once running,
// outages are survived (see hub.Run).
func (s *Server) openRedis(ctx context.Context, node string) error {
	sc := s.cfg.Store
	client, kind, err := redisx.NewClient(sc.URL)
	if err != nil {
		return s.keyErr("store.url", err)
	}
	st, err := redisstore.New(ctx, client, redisstore.Options{Prefix: sc.Prefix})
	if err != nil {
		_ = client.Close()
		return s.keyErr("store.url", fmt.Errorf("%s at %s: %w", kind, redisx.Redact(sc.URL), err))
	}
	b, err := redisbus.New(ctx, client, redisbus.Options{Prefix: sc.Prefix, Logger: s.log})
	if err != nil {
		_ = client.Close()
		return s.keyErr("store.url", fmt.Errorf("%s at %s: %w", kind, redisx.Redact(sc.URL), err))
	}
	s.store, s.bus, s.redis = st, b, client
	redisx.SetLogger(s.log)
	s.log.Info("redis store connected", "redis", kind, "url", redisx.Redact(sc.URL), "prefix", sc.Prefix, "node", node)
	return nil
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
