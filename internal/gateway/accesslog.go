package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/wsgate/wsgate/internal/observe"
)

// accessLine is one line of the access log: one per handshake ("connect"), message
// ("message") and $disconnect ("disconnect"). Its keys are API Gateway's $context names
// (observe's log vocabulary), latencies in milliseconds as AWS logs them; every line has a
// status and an integrationLatency (0 when no integration ran), so queries need no special
// case.
type accessLine struct {
	eventType          string // "connect", "message" or "disconnect": the line's msg
	requestID          string
	connectionID       string
	routeKey           string
	status             int
	integrationLatency time.Duration
	err                error
	attrs              []slog.Attr // what only this kind of line has
}

// logAccess writes l at level (info, or warn for an integration that failed), built here only,
// and only when the level is on.
func (g *Gateway) logAccess(level slog.Level, l accessLine) {
	ctx := context.Background()
	if !g.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 7+len(l.attrs))
	attrs = append(attrs,
		slog.String(observe.KeyRequestID, l.requestID),
		slog.String(observe.KeyConnectionID, l.connectionID),
		slog.String(observe.KeyRouteKey, l.routeKey),
		slog.String(observe.KeyStage, g.o.Stage),
		slog.Int(observe.KeyStatus, l.status),
		slog.Float64(observe.KeyIntegrationLatency, observe.Millis(l.integrationLatency)),
	)
	attrs = append(attrs, l.attrs...)
	if l.err != nil {
		attrs = append(attrs, slog.String(observe.KeyError, l.err.Error()))
	}
	g.log.LogAttrs(ctx, level, l.eventType, attrs...)
}
