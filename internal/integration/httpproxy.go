package integration

import (
	"context"
	"fmt"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

// httpProxy is HTTP_PROXY: the frame text goes to the backend unchanged (nothing on CONNECT and
// DISCONNECT), and the backend's status, headers and body come back unchanged.
type httpProxy struct {
	t *httpTarget
}

func newHTTPProxy(name string, cfg config.Integration, o Options) (*httpProxy, error) {
	if len(cfg.RequestTemplates) > 0 || len(cfg.Responses) > 0 {
		return nil, fmt.Errorf("HTTP_PROXY takes no requestTemplates or responses (the body passes through): use type: HTTP to transform it")
	}
	t, err := newHTTPTarget(cfg.Method, cfg.URI, o.StageVariables, cfg.RequestParameters, o)
	if err != nil {
		return nil, err
	}
	return &httpProxy{t: t}, nil
}

func (p *httpProxy) Invoke(ctx context.Context, ev *event.Event) (*Response, error) {
	body, err := frameBody(ev)
	if err != nil {
		return nil, err
	}
	return p.t.send(ctx, ev, body, body)
}

func (p *httpProxy) pooled() bool { return p.t.pool != nil }

func (p *httpProxy) invokeBy(ctx context.Context, ev *event.Event, deadline time.Time) (*Response, error) {
	body, err := frameBody(ev)
	if err != nil {
		return nil, err
	}
	return p.t.sendBy(ctx, ev, body, body, deadline)
}
