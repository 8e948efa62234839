package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/redisx"
	"github.com/wsgate/wsgate/internal/registry"
)

// Fields of the connection hash. Short, as there is one hash per connection.
const (
	fNode      = redisx.ConnNodeField // read by the bus too (redisx.ConnKey)
	fConnected = "ca"                 // unix ms
	fActive    = "la"                 // unix ms
	fIP        = "ip"
	fUA        = "ua"
	fUser      = "u"
	fPath      = "p"
	fAuth      = "a" // JSON object
)

func encodeConn(c registry.Conn) ([]any, error) {
	f := []any{
		fNode, c.Node,
		fConnected, ms(c.ConnectedAt),
		fActive, ms(c.LastActiveAt),
		fIP, c.SourceIP,
	}
	for _, kv := range [...][2]string{{fUA, c.UserAgent}, {fUser, c.UserID}, {fPath, c.Path}} {
		if kv[1] != "" {
			f = append(f, kv[0], kv[1])
		}
	}
	if len(c.Authorizer) > 0 {
		b, err := json.Marshal(c.Authorizer)
		if err != nil {
			return nil, fmt.Errorf("redisstore: register connection %q: authorizer context is not JSON: %w", c.ID, err)
		}
		f = append(f, fAuth, b)
	}
	return f, nil
}

// decodeConn builds a Conn from its hash; ok is false for an empty hash (no such connection).
func decodeConn(id string, h map[string]string) (registry.Conn, bool, error) {
	if len(h) == 0 {
		return registry.Conn{}, false, nil
	}
	ca, err1 := strconv.ParseInt(h[fConnected], 10, 64)
	la, err2 := strconv.ParseInt(h[fActive], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return registry.Conn{}, false, fmt.Errorf("redisstore: connection %q: bad stored time: %w", id, err)
	}
	c := registry.Conn{
		ID: id, Node: h[fNode], ConnectedAt: fromMS(ca), LastActiveAt: fromMS(la),
		SourceIP: h[fIP], UserAgent: h[fUA], UserID: h[fUser], Path: h[fPath],
	}
	if a := h[fAuth]; a != "" {
		if err := json.Unmarshal([]byte(a), &c.Authorizer); err != nil {
			return registry.Conn{}, false, fmt.Errorf("redisstore: connection %q: bad stored authorizer context: %w", id, err)
		}
	}
	return c, true, nil
}

// Register writes the record and indexes it by node and user in one pipeline. Registering an
// id again replaces its record.
func (s *Store) Register(ctx context.Context, c registry.Conn) error {
	if c.ID == "" {
		return errors.New("registry: register: empty connection id")
	}
	if c.Node == "" {
		return fmt.Errorf("registry: register connection %q: empty node", c.ID)
	}
	fields, err := encodeConn(c)
	if err != nil {
		return err
	}
	p := s.rdb.Pipeline()
	ck := s.connKey(c.ID)
	p.Del(ctx, ck) // the same slot as HSET, so ordered before it even on Cluster
	p.HSet(ctx, ck, fields...)
	p.SAdd(ctx, s.nodeKey(c.Node), c.ID)
	p.SAdd(ctx, s.nodesKey(), c.Node)
	if c.UserID != "" {
		seen := max(ms(c.ConnectedAt), ms(c.LastActiveAt))
		userAdd.Eval(ctx, p, []string{s.userKey(c.UserID), s.lastSeenKey(c.UserID)}, c.ID, seen, s.lastSeenTTL.Milliseconds())
		p.ZAdd(ctx, s.onlineKey(onlineShard(c.UserID)), redis.Z{Member: c.UserID})
	}
	if err := exec(ctx, p); err != nil {
		return fmt.Errorf("redisstore: register connection %q: %w", c.ID, err)
	}
	return nil
}

// Get returns the connection or registry.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (registry.Conn, error) {
	h, err := s.rdb.HGetAll(ctx, s.connKey(id)).Result()
	if err != nil {
		return registry.Conn{}, fmt.Errorf("redisstore: get connection %q: %w", id, err)
	}
	c, ok, err := decodeConn(id, h)
	if err != nil {
		return registry.Conn{}, err
	}
	if !ok {
		return registry.Conn{}, fmt.Errorf("connection %q: %w", id, registry.ErrNotFound)
	}
	return c, nil
}

// Unregister removes the connection from its user, groups and online index, then deletes the
// record, then drops it from its node's set; see the package comment for why in that order.
// Concurrent calls for one id are safe; only one reports true.
func (s *Store) Unregister(ctx context.Context, id string) (registry.Conn, bool, error) {
	fail := func(step string, err error) (registry.Conn, bool, error) {
		return registry.Conn{}, false, fmt.Errorf("redisstore: unregister connection %q: %s: %w", id, step, err)
	}
	ck, cgk := s.connKey(id), s.connGroupsKey(id)
	p := s.rdb.Pipeline()
	hget := p.HGetAll(ctx, ck)
	groups := p.SMembers(ctx, cgk)
	if err := exec(ctx, p); err != nil {
		return fail("read", err)
	}
	c, ok, err := decodeConn(id, hget.Val())
	if err != nil || !ok {
		return registry.Conn{}, false, err
	}

	p = s.rdb.Pipeline()
	var left *redis.Cmd
	if c.UserID != "" {
		seen := max(ms(c.LastActiveAt), ms(s.now()))
		left = userRemove.Eval(ctx, p, []string{s.userKey(c.UserID), s.lastSeenKey(c.UserID)}, id, seen, s.lastSeenTTL.Milliseconds())
	}
	for _, g := range groups.Val() {
		p.SRem(ctx, s.groupKey(g), id)
	}
	if err := exec(ctx, p); err != nil {
		return fail("remove from user and groups", err)
	}
	if left != nil {
		if n, _ := left.Int64(); n == 0 {
			if err := s.markOffline(ctx, c.UserID); err != nil {
				return fail("mark user offline", err)
			}
		}
	}

	p = s.rdb.Pipeline()
	del := p.Del(ctx, ck)
	p.Del(ctx, cgk)
	if err := exec(ctx, p); err != nil {
		return fail("delete record", err)
	}
	if err := s.rdb.SRem(ctx, s.nodeKey(c.Node), id).Err(); err != nil {
		return fail("remove from node", err)
	}
	if del.Val() == 0 { // a concurrent Unregister deleted it first
		return registry.Conn{}, false, nil
	}
	return c, true, nil
}

// markOffline removes user from the online index, then puts them back if a connection was
// registered meanwhile (its Register's ZADD may have run before our ZREM). The user's set and
// the online shard are different slots, so this check-after-write replaces a transaction.
func (s *Store) markOffline(ctx context.Context, user string) error {
	ok := s.onlineKey(onlineShard(user))
	if err := s.rdb.ZRem(ctx, ok, user).Err(); err != nil {
		return err
	}
	n, err := s.rdb.SCard(ctx, s.userKey(user)).Result()
	if err != nil {
		return err
	}
	if n > 0 {
		return s.rdb.ZAdd(ctx, ok, redis.Z{Member: user}).Err()
	}
	return nil
}

// Touch moves lastActiveAt of each connection (never backwards, never recreating a closed one)
// and then of their users: two round trips for any batch size.
func (s *Store) Touch(ctx context.Context, at map[string]time.Time) error {
	if len(at) == 0 {
		return nil
	}
	p := s.rdb.Pipeline()
	type touched struct {
		t   time.Time
		cmd *redis.Cmd
	}
	cmds := make([]touched, 0, len(at))
	for id, t := range at {
		cmds = append(cmds, touched{t, touchConn.Eval(ctx, p, []string{s.connKey(id)}, ms(t))})
	}
	if err := exec(ctx, p); err != nil {
		return fmt.Errorf("redisstore: touch %d connections: %w", len(at), err)
	}
	users := map[string]time.Time{}
	for _, c := range cmds {
		if u, err := c.cmd.Text(); err == nil && u != "" && c.t.After(users[u]) {
			users[u] = c.t
		}
	}
	if len(users) == 0 {
		return nil
	}
	p = s.rdb.Pipeline()
	for u, t := range users {
		userSeen.Eval(ctx, p, []string{s.lastSeenKey(u)}, ms(t), s.lastSeenTTL.Milliseconds())
	}
	if err := exec(ctx, p); err != nil {
		return fmt.Errorf("redisstore: touch %d users: %w", len(users), err)
	}
	return nil
}

// getMany returns the records of the ids that still exist, in the order given, and the ids
// that do not.
func (s *Store) getMany(ctx context.Context, ids []string) (found []registry.Conn, missing []string, err error) {
	found = make([]registry.Conn, 0, len(ids))
	for start := 0; start < len(ids); start += batch {
		chunk := ids[start:min(start+batch, len(ids))]
		p := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(chunk))
		for i, id := range chunk {
			cmds[i] = p.HGetAll(ctx, s.connKey(id))
		}
		if err := exec(ctx, p); err != nil {
			return nil, nil, fmt.Errorf("redisstore: read %d connections: %w", len(chunk), err)
		}
		for i, id := range chunk {
			c, ok, err := decodeConn(id, cmds[i].Val())
			if err != nil {
				return nil, nil, err
			}
			if ok {
				found = append(found, c)
			} else {
				missing = append(missing, id)
			}
		}
	}
	return found, missing, nil
}

// exec runs the pipeline and returns the first error other than redis.Nil (a script's "no
// value", or a missing key), which callers read per command.
func exec(ctx context.Context, p redis.Pipeliner) error {
	cmds, err := p.Exec(ctx)
	if len(cmds) == 0 {
		return err
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	return nil
}
