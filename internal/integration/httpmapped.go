package integration

import (
	"context"

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
	return h.m.call(ctx, ev, h.t)
}

// call renders the request, sends it through t, and maps the answer.
func (m *mapped) call(ctx context.Context, ev *event.Event, t *httpTarget) (*Response, error) {
	frame, err := frameBody(ev)
	if err != nil {
		return nil, err
	}
	td := newTemplateData(ev, frame, m.stageVars)
	payload, _, err := m.req.render(td)
	if err != nil {
		return nil, err
	}
	r, err := t.send(ctx, ev, frame, payload)
	if err != nil {
		return nil, err
	}
	if err := m.resp.apply(r, td); err != nil {
		return nil, err
	}
	return r, nil
}
