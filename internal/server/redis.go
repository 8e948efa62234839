package server

import (
	"context"
	"errors"
)

func (s *Server) openRedis(ctx context.Context, node string) error {
	return errors.New("redis store: not wired yet")
}
