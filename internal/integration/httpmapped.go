package integration

import (
	"context"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
)

// httpMapped is HTTP (non-proxy): the request template chosen by templateSelectionExpression is
// rendered and sent; the answer goes through the integration responses. Headers and request
// parameters are those of HTTP_PROXY.
type httpMapped struct {
	t *httpTarget
	m mapped
}

func newHTTP(name string, cfg config.Integration, o Options) (*httpMapped, error) {
	t, err := newHTTPTarget(cfg.Method, cfg.URI, o.StageVariables, cfg.RequestParameters, o)
	if err != nil {
		return nil, err
	}
	m, err := newMapped(cfg, o)
	if err != nil {
		return nil, err
	}
	return &httpMapped{t: t, m: m}, nil
}

func (h *httpMapped) Invoke(ctx context.Context, ev *event.Event) (*Response, error) {
	return h.m.call(ctx, ev, h.t, time.Time{})
}

func (h *httpMapped) pooled() bool { return h.t.pool != nil }

func (h *httpMapped) invokeBy(ctx context.Context, ev *event.Event, deadline time.Time) (*Response, error) {
	return h.m.call(ctx, ev, h.t, deadline)
}

// call renders the request, sends it through t, and maps the answer. deadline: see
// httpTarget.sendBy.
func (m *mapped) call(ctx context.Context, ev *event.Event, t *httpTarget, deadline time.Time) (*Response, error) {
	frame, err := frameBody(ev)
	if err != nil {
		return nil, err
	}
	td := newTemplateData(ev, frame, m.stageVars)
	payload, _, err := m.req.render(td)
	if err != nil {
		return nil, err
	}
	r, err := t.sendBy(ctx, ev, frame, payload, deadline)
	if err != nil {
		return nil, err
	}
	if err := m.resp.apply(r, td); err != nil {
		return nil, err
	}
	return r, nil
}
