package dashboard

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/observe"
)

// DefaultTailLines is how many access-log lines a Tail keeps for a page that opens.
const DefaultTailLines = 200

// Line is one access-log record as the page shows it: the message ("connect", "message",
// "disconnect", ...) and its attributes rendered as strings, in the order the logger wrote them.
type Line struct {
	Time  time.Time `json:"t"`
	Level string    `json:"level"`
	Msg   string    `json:"msg"`
	// ConnectionID, RouteKey and Status are copied out of Attrs for the page's filter.
	ConnectionID string      `json:"connectionId,omitempty"`
	RouteKey     string      `json:"routeKey,omitempty"`
	Status       string      `json:"status,omitempty"`
	Attrs        [][2]string `json:"attrs"`
}

// Tail taps a slog logger: while at least one page watches (Subscribe), it keeps the last lines
// that carry a connectionId or a routeKey (the gateway's access log: connect, message,
// disconnect) and hands new ones to subscribers. It is safe for concurrent use. The logger it
// wraps writes exactly what it wrote before.
//
// While nobody watches, the tap costs an atomic load per record and keeps nothing, so the hot
// path pays nothing for a page nobody opened. While a page watches, Info records are produced
// even if the wrapped handler's level drops them, so the tail works at any log level.
type Tail struct {
	watchers atomic.Int32

	mu   sync.Mutex
	ring []Line
	next int
	full bool
	subs map[chan Line]struct{}
}

// NewTail returns a Tail that keeps n lines (DefaultTailLines if n <= 0).
func NewTail(n int) *Tail {
	if n <= 0 {
		n = DefaultTailLines
	}
	return &Tail{ring: make([]Line, n), subs: map[chan Line]struct{}{}}
}

// Wrap returns a logger that writes through log's handler and feeds t.
func (t *Tail) Wrap(log *slog.Logger) *slog.Logger {
	return slog.New(&tapHandler{t: t, inner: log.Handler()})
}

// Recent returns the kept lines, oldest first.
func (t *Tail) Recent() []Line {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.full {
		return append([]Line(nil), t.ring[:t.next]...)
	}
	return append(append([]Line(nil), t.ring[t.next:]...), t.ring[:t.next]...)
}

// Subscribe returns a channel of new lines (buffer n; lines a slow reader has no room for are
// dropped, never waited for) and a cancel function that must be called.
func (t *Tail) Subscribe(n int) (<-chan Line, func()) {
	ch := make(chan Line, n)
	t.mu.Lock()
	t.subs[ch] = struct{}{}
	t.mu.Unlock()
	t.watchers.Add(1)
	return ch, func() {
		t.mu.Lock()
		if _, ok := t.subs[ch]; ok {
			delete(t.subs, ch)
			t.watchers.Add(-1)
		}
		t.mu.Unlock()
	}
}

func (t *Tail) add(l Line) {
	t.mu.Lock()
	t.ring[t.next] = l
	t.next++
	if t.next == len(t.ring) {
		t.next, t.full = 0, true
	}
	for ch := range t.subs {
		select {
		case ch <- l:
		default: // a slow page loses lines, the gateway never waits
		}
	}
	t.mu.Unlock()
}

// tapHandler is the slog.Handler Wrap installs.
type tapHandler struct {
	t      *Tail
	inner  slog.Handler
	attrs  [][2]string // from WithAttrs, already prefixed by their groups
	prefix string      // from WithGroup: "g1.g2."
}

func (h *tapHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l) || (l >= slog.LevelInfo && h.t.watchers.Load() > 0)
}

func (h *tapHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.inner.Enabled(ctx, r.Level) {
		err = h.inner.Handle(ctx, r)
	}
	if r.Level < slog.LevelInfo || h.t.watchers.Load() == 0 {
		// Nobody watches: the access log costs the gateway nothing more than an atomic load.
		return err
	}
	l := Line{Time: r.Time, Level: r.Level.String(), Msg: r.Message, Attrs: make([][2]string, 0, len(h.attrs)+r.NumAttrs())}
	l.Attrs = append(l.Attrs, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		l.Attrs = appendAttr(l.Attrs, h.prefix, a)
		return true
	})
	for _, kv := range l.Attrs {
		switch kv[0] {
		case observe.KeyConnectionID:
			l.ConnectionID = kv[1]
		case observe.KeyRouteKey:
			l.RouteKey = kv[1]
		case observe.KeyStatus:
			l.Status = kv[1]
		}
	}
	if l.ConnectionID != "" || l.RouteKey != "" {
		h.t.add(l)
	}
	return err
}

func (h *tapHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	c.attrs = append([][2]string(nil), h.attrs...)
	for _, a := range as {
		c.attrs = appendAttr(c.attrs, h.prefix, a)
	}
	return &c
}

func (h *tapHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}

func appendAttr(dst [][2]string, prefix string, a slog.Attr) [][2]string {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			dst = appendAttr(dst, p, g)
		}
		return dst
	}
	if a.Key == "" {
		return dst
	}
	var s string
	switch v.Kind() {
	case slog.KindDuration:
		s = strconv.FormatFloat(float64(v.Duration())/float64(time.Millisecond), 'f', 3, 64) + "ms"
	case slog.KindTime:
		s = v.Time().UTC().Format(time.RFC3339Nano)
	default:
		s = v.String()
	}
	return append(dst, [2]string{prefix + a.Key, s})
}
