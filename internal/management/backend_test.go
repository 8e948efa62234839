package management

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/registry"
)

// memBackend is an in-memory Backend for the handler tests. It is a test double on purpose: the
// real Backend is the hub, another package written in parallel, and the end-to-end tests with
// real sockets live with the gateway. It records what the handler hands it so tests can check
// that bytes and ids arrive exactly.
type memBackend struct {
	mu       sync.Mutex
	conns    map[string]registry.Conn
	groups   map[string][]string // group -> connection ids, in join order
	lastSeen map[string]registry.Presence
	fail     map[string]error // connection id or user id -> error to return
	sent     map[string][][]byte
	deleted  []string
	cursors  map[string]string // OnlineUsers: cursor -> next cursor
	lastArgs []any             // arguments of the last call, for tests of parameter passing
}

func newMemBackend(conns ...registry.Conn) *memBackend {
	b := &memBackend{
		conns:    map[string]registry.Conn{},
		groups:   map[string][]string{},
		lastSeen: map[string]registry.Presence{},
		fail:     map[string]error{},
		sent:     map[string][][]byte{},
		cursors:  map[string]string{},
	}
	for _, c := range conns {
		b.conns[c.ID] = c
	}
	return b
}

func (b *memBackend) messages(id string) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sent[id])
}

func (b *memBackend) args() []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastArgs
}

func (b *memBackend) PostToConnection(_ context.Context, id string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fail[id]; err != nil {
		return err
	}
	if _, ok := b.conns[id]; !ok {
		return hub.ErrGone
	}
	b.sent[id] = append(b.sent[id], bytes.Clone(data)) // the handler reuses its buffers
	return nil
}

func (b *memBackend) GetConnection(_ context.Context, id string) (registry.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fail[id]; err != nil {
		return registry.Conn{}, err
	}
	c, ok := b.conns[id]
	if !ok {
		return registry.Conn{}, hub.ErrGone
	}
	return c, nil
}

func (b *memBackend) DeleteConnection(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.conns[id]; !ok {
		return hub.ErrGone
	}
	delete(b.conns, id)
	b.deleted = append(b.deleted, id)
	return nil
}

func (b *memBackend) userConns(userID string) []string {
	var ids []string
	for id, c := range b.conns {
		if c.UserID == userID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// PostToUser answers (0, nil) for an offline user, not hub.ErrGone: the handler must turn both
// into 410.
func (b *memBackend) PostToUser(_ context.Context, userID string, data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fail[userID]; err != nil {
		return 0, err
	}
	ids := b.userConns(userID)
	for _, id := range ids {
		b.sent[id] = append(b.sent[id], bytes.Clone(data)) // the handler reuses its buffers
	}
	return len(ids), nil
}

func (b *memBackend) DeleteUser(_ context.Context, userID string) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := b.userConns(userID)
	if len(ids) == 0 {
		return 0, hub.ErrGone
	}
	for _, id := range ids {
		delete(b.conns, id)
		b.deleted = append(b.deleted, id)
	}
	return len(ids), nil
}

func (b *memBackend) Presence(_ context.Context, userIDs []string) ([]registry.Presence, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastArgs = []any{slices.Clone(userIDs)}
	out := make([]registry.Presence, len(userIDs))
	for i, u := range userIDs {
		p := b.lastSeen[u]
		p.UserID = u
		if n := len(b.userConns(u)); n > 0 {
			p.Online, p.Connections = true, n
		}
		out[i] = p
	}
	return out, nil
}

func (b *memBackend) OnlineUsers(_ context.Context, cursor string, limit int) ([]registry.Presence, string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastArgs = []any{cursor, limit}
	var users []string
	for _, c := range b.conns {
		if c.UserID != "" && !slices.Contains(users, c.UserID) {
			users = append(users, c.UserID)
		}
	}
	slices.Sort(users)
	var out []registry.Presence
	for _, u := range users {
		p := b.lastSeen[u]
		p.UserID, p.Online, p.Connections = u, true, len(b.userConns(u))
		out = append(out, p)
	}
	return out, b.cursors[cursor], nil
}

func (b *memBackend) JoinGroup(_ context.Context, connID, group string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.conns[connID]; !ok {
		return hub.ErrGone
	}
	if !slices.Contains(b.groups[group], connID) {
		b.groups[group] = append(b.groups[group], connID)
	}
	return nil
}

func (b *memBackend) LeaveGroup(_ context.Context, connID, group string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.conns[connID]; !ok {
		return hub.ErrGone
	}
	b.groups[group] = slices.DeleteFunc(b.groups[group], func(id string) bool { return id == connID })
	return nil
}

func (b *memBackend) PostToGroup(_ context.Context, group string, data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range b.groups[group] {
		b.sent[id] = append(b.sent[id], bytes.Clone(data)) // the handler reuses its buffers
	}
	return len(b.groups[group]), nil
}

func (b *memBackend) GroupMembers(_ context.Context, group string) ([]registry.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []registry.Conn
	for _, id := range b.groups[group] {
		out = append(out, b.conns[id])
	}
	return out, nil
}

func (b *memBackend) NodeConnections(context.Context) (map[string][]registry.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string][]registry.Conn{}
	for _, c := range b.conns {
		out[c.Node] = append(out[c.Node], c)
	}
	return out, nil
}

func (b *memBackend) Broadcast(_ context.Context, data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.conns {
		b.sent[id] = append(b.sent[id], bytes.Clone(data)) // the handler reuses its buffers
	}
	return len(b.conns), nil
}

// blockingBackend waits for the request's deadline in every call, to test Options.Timeout.
type blockingBackend struct{ memBackend }

func (*blockingBackend) PostToConnection(ctx context.Context, _ string, _ []byte) error {
	<-ctx.Done()
	return ctx.Err()
}

// errBoom is a Backend failure the handler does not know.
var errBoom = errors.New("boom")
