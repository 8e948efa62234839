package server

import (
	"context"
	"fmt"

	"github.com/wsgate/wsgate/internal/bus"
	"github.com/wsgate/wsgate/internal/registry"
)

// openStore opens the registry and bus the config names: memory (one node) or redis.
func (s *Server) openStore(ctx context.Context, node string) error {
	switch s.cfg.Store.Type {
	case "", "memory":
		s.store = registry.NewMemory()
		s.bus = bus.NewLocal()
		return nil
	case "redis":
		return s.openRedis(ctx, node)
	}
	return s.keyErr("store.type", fmt.Errorf("unknown store %q: use memory or redis", s.cfg.Store.Type))
}
