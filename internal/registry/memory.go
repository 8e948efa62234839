package registry

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/registry/internal/cursor"
)

// DefaultLastSeenTTL is how long a user's last-seen time is kept after their last connection
// closes. Both stores use it.
const DefaultLastSeenTTL = 30 * 24 * time.Hour

// memShards is the number of shards of each memory index. A power of two, so that a hash picks
// a shard with a mask; 64 keeps lock contention low on many cores without much fixed memory.
const memShards = 64

// Memory is the single-node Store. Connections, users and groups are each kept in memShards
// maps with one mutex each, so unrelated connections rarely contend.
//
// Lock order: a connection shard may be held while taking a user or group shard or reading an
// attached Index, never the other way round, and no two shards of one index are held at once. The node table's mutex is
// never held with any other.
//
// Per connection it keeps one map entry in a connection shard (the Source it reads the record
// from: the live connection itself when registered with RegisterSource, so the record is not
// copied) and one string in its user's slice; group names only for connections in groups. No
// per-connection maps, so a million connections cost little more than their map entries.
//
// A node in the same process that keeps its own index of its connections (the hub) can Attach
// it: the connections it registers with RegisterSource are then read from that index and cost
// the store no map entry at all, only their user's slice entry and their groups. Such a
// connection moves into a connection shard when the node Releases it (between the node dropping
// it and Unregister), and Unregister of one the node still holds (a survivor reaping a stalled
// node) leaves its id in the shard's gone set until the node releases or registers it again.
type Memory struct {
	now         func() time.Time
	lastSeenTTL time.Duration
	seed        maphash.Seed

	conns  [memShards]memConnShard
	users  [memShards]memUserShard
	groups [memShards]memGroupShard

	nodeMu sync.Mutex
	leases map[string]time.Time // node -> lease expiry
	claims map[string]memClaim  // dead node -> who cleans it up
	reaped map[string]time.Time // claimed node -> until when Reaped reports it

	sweepNext atomic.Uint32 // next user shard to sweep for expired last-seen entries

	attached atomic.Pointer[[]attachment] // copy on write under nodeMu
}

// attachment is a node's own index of its connections (Attach).
type attachment struct {
	node string
	idx  Index
}

// copied is a record Register copied in (a connection held by another process); Touch moves
// its LastActiveAt.
type copied struct{ c Conn }

func (r *copied) Info() Conn { return r.c }

type memConnShard struct {
	mu      sync.RWMutex
	m       map[string]Source   // *copied, or the live connection (RegisterSource)
	groups  map[string][]string // a connection's groups in join order; only those in a group
	perNode map[string]int      // live connections per owning node (those in m), for DeadNodes
	// gone holds the connections an attached node still holds that Unregister removed (a
	// survivor reaped the node), id -> node, until the node releases or registers them again.
	// Nil while empty (nearly always).
	gone map[string]string
}

type memUser struct {
	conns []string // usually one or two: a slice is smaller than a map
	last  time.Time
}

type memUserShard struct {
	mu sync.RWMutex
	m  map[string]*memUser
}

type memGroupShard struct {
	mu sync.RWMutex
	m  map[string]map[string]struct{}
}

type memClaim struct {
	claimant string
	until    time.Time
}

// NewMemory returns an empty in-memory Store using the wall clock.
func NewMemory() Store { return NewMemoryWithClock(time.Now) }

// NewMemoryWithClock returns an in-memory Store that reads the time from now, so tests can move
// node leases and last-seen expiry forward without sleeping. now must be safe for concurrent use.
func NewMemoryWithClock(now func() time.Time) *Memory {
	s := &Memory{
		now:         now,
		lastSeenTTL: DefaultLastSeenTTL,
		seed:        maphash.MakeSeed(),
		leases:      map[string]time.Time{},
		claims:      map[string]memClaim{},
		reaped:      map[string]time.Time{},
	}
	for i := range memShards {
		s.conns[i].m = map[string]Source{}
		s.conns[i].groups = map[string][]string{}
		s.conns[i].perNode = map[string]int{}
		s.users[i].m = map[string]*memUser{}
		s.groups[i].m = map[string]map[string]struct{}{}
	}
	return s
}

func (s *Memory) shard(key string) int { return int(maphash.String(s.seed, key) & (memShards - 1)) }

func validConn(c Conn) error {
	if c.ID == "" {
		return fmt.Errorf("registry: register: empty connection id")
	}
	if c.Node == "" {
		return fmt.Errorf("registry: register connection %q: empty node", c.ID)
	}
	return nil
}

// Register records a copy of c. Registering an id that is already present replaces the old
// record and its user and node indexes (its groups are kept).
func (s *Memory) Register(ctx context.Context, c Conn) error {
	if err := validConn(c); err != nil {
		return err
	}
	return s.register(c, &copied{c: c})
}

// RegisterSource records src.Info() without copying it: the store keeps src and reads the
// record from it whenever asked, so a live connection is described by what its node holds
// (its LastActiveAt is always current; Touch has nothing to move). A connection its node's
// attached Index holds is not kept at all: the store reads it from there. Registering an id
// that is already present replaces the old record as Register does.
func (s *Memory) RegisterSource(ctx context.Context, src Source) error {
	id, node, userID := keysOf(src)
	if id == "" || node == "" {
		return invalidSource(src)
	}
	if idx := s.indexOf(node); idx != nil {
		if held, ok := idx.Source(id); ok && held == src {
			s.registerHeld(id, userID, src)
			return nil
		}
	}
	return s.registerRecord(src)
}

// invalidSource is validConn's error for src's record.
//
//go:noinline
func invalidSource(src Source) error { return validConn(src.Info()) }

// registerRecord is register of src's whole record: for a source its node's index does not hold.
// Functions of their own keep the records (a few hundred bytes each) off the stack of the
// common paths, which run on the goroutine of every connect and close.
//
//go:noinline
func (s *Memory) registerRecord(src Source) error { return s.register(src.Info(), src) }

// indexSourceUser is indexUser of src's record. Caller holds src's connection shard.
//
//go:noinline
func (s *Memory) indexSourceUser(src Source) { s.indexUser(src.Info()) }

// unindexSource is unindexLocked of src's record.
//
//go:noinline
func (s *Memory) unindexSource(cs *memConnShard, src Source, counted bool) {
	s.unindexLocked(cs, src.Info(), counted)
}

// Attach implements Attacher: from now on the connections node registers with RegisterSource
// while idx holds them are read from idx. It replaces node's earlier index, if any.
func (s *Memory) Attach(node string, idx Index) {
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	var next []attachment
	for _, a := range s.attachments() {
		if a.node != node {
			next = append(next, a)
		}
	}
	next = append(next, attachment{node: node, idx: idx})
	s.attached.Store(&next)
}

// Release implements Attacher: src, which its node has just dropped from its index, is kept
// in its shard until Unregister, or forgotten at once if Unregister already removed it.
func (s *Memory) Release(src Source) {
	id, node, _ := keysOf(src)
	cs := &s.conns[s.shard(id)]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.gone[id]; ok {
		s.forgetGone(cs, id)
		return
	}
	if cs.m[id] != nil {
		return
	}
	cs.m[id] = src
	cs.perNode[node]++
}

// Drop implements Attacher: what Release and then Unregister of src's id do, without moving src
// into its shard in between.
func (s *Memory) Drop(src Source) {
	id, _, userID := keysOf(src)
	cs := &s.conns[s.shard(id)]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.gone[id]; ok {
		s.forgetGone(cs, id) // a survivor unregistered it already
		return
	}
	if e := cs.m[id]; e != nil {
		// Registered again by copy meanwhile: Unregister would remove that record.
		delete(cs.m, id)
		s.unindexSource(cs, e, true)
	} else if userID != "" {
		s.unindexSource(cs, src, false)
	}
	s.dropGroups(cs, id)
}

func (s *Memory) attachments() []attachment {
	if p := s.attached.Load(); p != nil {
		return *p
	}
	return nil
}

// indexOf is node's attached index, nil if none.
func (s *Memory) indexOf(node string) Index {
	for _, a := range s.attachments() {
		if a.node == node {
			return a.idx
		}
	}
	return nil
}

// find returns the source of id's record: what cs.m holds, else a connection an attached
// node holds that Unregister has not removed. Caller holds cs.mu, read or write.
func (s *Memory) find(cs *memConnShard, id string) Source {
	if e := cs.m[id]; e != nil {
		return e
	}
	return s.held(cs, id)
}

// held returns the connection id an attached node holds, unless Unregister removed it.
// Caller holds cs.mu.
func (s *Memory) held(cs *memConnShard, id string) Source {
	if _, ok := cs.gone[id]; ok {
		return nil
	}
	for _, a := range s.attachments() {
		if src, ok := a.idx.Source(id); ok {
			return src
		}
	}
	return nil
}

func (s *Memory) forgetGone(cs *memConnShard, id string) {
	delete(cs.gone, id)
	if len(cs.gone) == 0 {
		cs.gone = nil
	}
}

// registerHeld indexes src, which its node's attached index holds under id: only its user (no
// entry of its own). Registering it again (a resync) changes nothing.
func (s *Memory) registerHeld(id, userID string, src Source) {
	cs := &s.conns[s.shard(id)]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if old := cs.m[id]; old != nil {
		s.unindexSource(cs, old, true)
		delete(cs.m, id)
	}
	s.forgetGone(cs, id)
	if userID != "" {
		s.indexSourceUser(src)
	}
}

// register indexes c, read from src, under c.ID.
func (s *Memory) register(c Conn, src Source) error {
	cs := &s.conns[s.shard(c.ID)]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if old := cs.m[c.ID]; old != nil {
		s.unindexLocked(cs, old.Info(), true)
	} else if old := s.held(cs, c.ID); old != nil {
		s.unindexLocked(cs, old.Info(), false)
	}
	s.forgetGone(cs, c.ID)
	cs.m[c.ID] = src
	cs.perNode[c.Node]++
	s.indexUser(c)
	return nil
}

// indexUser adds c to its user's connections, once. Caller holds c's connection shard.
func (s *Memory) indexUser(c Conn) {
	if c.UserID == "" {
		return
	}
	us := &s.users[s.shard(c.UserID)]
	us.mu.Lock()
	u := us.m[c.UserID]
	if u == nil {
		u = &memUser{}
		us.m[c.UserID] = u
	}
	if !slices.Contains(u.conns, c.ID) {
		u.conns = append(u.conns, c.ID)
	}
	u.last = later(u.last, later(c.LastActiveAt, c.ConnectedAt))
	us.mu.Unlock()
}

// unindexLocked removes the record c from its node count (counted: it is one of cs.m's) and
// its user's connections, recording the user's last-seen time. cs must be c's shard, locked.
func (s *Memory) unindexLocked(cs *memConnShard, c Conn, counted bool) {
	if counted {
		if n := cs.perNode[c.Node] - 1; n > 0 {
			cs.perNode[c.Node] = n
		} else {
			delete(cs.perNode, c.Node)
		}
	}
	if c.UserID == "" {
		return
	}
	us := &s.users[s.shard(c.UserID)]
	us.mu.Lock()
	if u := us.m[c.UserID]; u != nil {
		if i := slices.Index(u.conns, c.ID); i >= 0 {
			last := len(u.conns) - 1
			u.conns[i] = u.conns[last]
			u.conns[last] = ""
			u.conns = u.conns[:last]
		}
		if len(u.conns) == 0 {
			u.conns = nil
		}
		u.last = later(u.last, later(c.LastActiveAt, s.now()))
	}
	us.mu.Unlock()
}

// Unregister removes the connection from every index. Safe to repeat: later calls return false.
func (s *Memory) Unregister(ctx context.Context, id string) (Conn, bool, error) {
	cs := &s.conns[s.shard(id)]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var c Conn
	if e := cs.m[id]; e != nil {
		c = e.Info()
		delete(cs.m, id)
		s.unindexLocked(cs, c, true)
	} else if e := s.held(cs, id); e != nil {
		// Its node still holds it (a survivor reaping a stalled node): gone until the node
		// releases it or registers it again.
		c = e.Info()
		s.unindexLocked(cs, c, false)
		if cs.gone == nil {
			cs.gone = map[string]string{}
		}
		cs.gone[id] = c.Node
	} else {
		return Conn{}, false, nil
	}
	s.dropGroups(cs, id)
	return c, true, nil
}

// dropGroups takes id out of its groups. Caller holds cs, id's shard.
func (s *Memory) dropGroups(cs *memConnShard, id string) {
	for _, g := range cs.groups[id] {
		s.removeMember(g, id)
	}
	delete(cs.groups, id)
}

func (s *Memory) removeMember(group, id string) {
	gs := &s.groups[s.shard(group)]
	gs.mu.Lock()
	if m := gs.m[group]; m != nil {
		delete(m, id)
		if len(m) == 0 {
			delete(gs.m, group)
		}
	}
	gs.mu.Unlock()
}

// Get returns the connection or ErrNotFound. Its Authorizer map is shared: treat it as read-only.
func (s *Memory) Get(ctx context.Context, id string) (Conn, error) {
	cs := &s.conns[s.shard(id)]
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if e := s.find(cs, id); e != nil {
		return e.Info(), nil
	}
	return Conn{}, fmt.Errorf("connection %q: %w", id, ErrNotFound)
}

// Touch moves lastActiveAt forward (never back). Unknown ids are skipped: they have closed
// since the caller batched them.
func (s *Memory) Touch(ctx context.Context, at map[string]time.Time) error {
	for id, t := range at {
		cs := &s.conns[s.shard(id)]
		cs.mu.Lock()
		if e := s.find(cs, id); e != nil {
			userID := ""
			if r, ok := e.(*copied); ok {
				r.c.LastActiveAt = later(r.c.LastActiveAt, t)
				userID = r.c.UserID
			} else {
				userID = e.Info().UserID
			}
			if userID != "" {
				us := &s.users[s.shard(userID)]
				us.mu.Lock()
				if u := us.m[userID]; u != nil {
					u.last = later(u.last, t)
				}
				us.mu.Unlock()
			}
		}
		cs.mu.Unlock()
	}
	return nil
}

// UserConns lists the user's live connections, in no particular order.
func (s *Memory) UserConns(ctx context.Context, userID string) ([]Conn, error) {
	us := &s.users[s.shard(userID)]
	us.mu.RLock()
	var ids []string
	if u := us.m[userID]; u != nil {
		ids = slices.Clone(u.conns)
	}
	us.mu.RUnlock()
	return s.lookup(ids), nil
}

// lookup returns the records of the ids still present.
func (s *Memory) lookup(ids []string) []Conn {
	out := make([]Conn, 0, len(ids))
	for _, id := range ids {
		cs := &s.conns[s.shard(id)]
		cs.mu.RLock()
		if e := s.find(cs, id); e != nil {
			out = append(out, e.Info())
		}
		cs.mu.RUnlock()
	}
	return out
}

// Presence reports each user in the order given; an unknown user is offline with a zero time.
func (s *Memory) Presence(ctx context.Context, userIDs []string) ([]Presence, error) {
	out := make([]Presence, len(userIDs))
	now := s.now()
	for i, id := range userIDs {
		out[i] = Presence{UserID: id}
		us := &s.users[s.shard(id)]
		us.mu.RLock()
		if u := us.m[id]; u != nil && !s.expired(u, now) {
			out[i].Online = len(u.conns) > 0
			out[i].Connections = len(u.conns)
			out[i].LastActiveAt = u.last
		}
		us.mu.RUnlock()
	}
	return out, nil
}

func (s *Memory) expired(u *memUser, now time.Time) bool {
	return len(u.conns) == 0 && now.Sub(u.last) > s.lastSeenTTL
}

// OnlineUsers walks the user shards in order, each in user-id order. A user online for the whole
// walk is returned exactly once; one who comes or goes during it may or may not be.
func (s *Memory) OnlineUsers(ctx context.Context, cur string, limit int) ([]Presence, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("registry: online users: limit %d: use 1 or more", limit)
	}
	shard, after, err := cursor.Parse(cur, memShards)
	if err != nil {
		return nil, "", err
	}
	out := make([]Presence, 0, min(limit, 1024))
	for ; shard < memShards; shard, after = shard+1, "" {
		us := &s.users[shard]
		us.mu.RLock()
		var page []Presence
		for id, u := range us.m {
			if len(u.conns) > 0 && (after == "" || id > after) {
				page = append(page, Presence{UserID: id, Online: true, Connections: len(u.conns), LastActiveAt: u.last})
			}
		}
		us.mu.RUnlock()
		slices.SortFunc(page, func(a, b Presence) int { return compareStrings(a.UserID, b.UserID) })
		room := limit - len(out)
		if len(page) >= room {
			out = append(out, page[:room]...)
			if len(page) == room && shard == memShards-1 {
				return out, "", nil
			}
			return out, cursor.Encode(shard, out[len(out)-1].UserID), nil
		}
		out = append(out, page...)
	}
	return out, "", nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Join adds the connection to group; ErrNotFound if the connection is unknown. Joining twice
// is one membership.
func (s *Memory) Join(ctx context.Context, connID, group string) error {
	if group == "" {
		return fmt.Errorf("registry: join connection %q: empty group name", connID)
	}
	cs := &s.conns[s.shard(connID)]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if s.find(cs, connID) == nil {
		return fmt.Errorf("join connection %q to group %q: %w", connID, group, ErrNotFound)
	}
	groups := cs.groups[connID]
	if slices.Contains(groups, group) {
		return nil
	}
	cs.groups[connID] = append(groups, group)
	gs := &s.groups[s.shard(group)]
	gs.mu.Lock()
	m := gs.m[group]
	if m == nil {
		m = map[string]struct{}{}
		gs.m[group] = m
	}
	m[connID] = struct{}{}
	gs.mu.Unlock()
	return nil
}

// Leave removes the connection from group; not being a member (or not existing) is no error.
func (s *Memory) Leave(ctx context.Context, connID, group string) error {
	cs := &s.conns[s.shard(connID)]
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if groups := cs.groups[connID]; groups != nil {
		if i := slices.Index(groups, group); i >= 0 {
			groups = slices.Delete(groups, i, i+1)
		}
		if len(groups) == 0 {
			delete(cs.groups, connID)
		} else {
			cs.groups[connID] = groups
		}
	}
	s.removeMember(group, connID)
	return nil
}

// GroupMembers lists the group's live connections, in no particular order.
func (s *Memory) GroupMembers(ctx context.Context, group string) ([]Conn, error) {
	gs := &s.groups[s.shard(group)]
	gs.mu.RLock()
	m := gs.m[group]
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	gs.mu.RUnlock()
	return s.lookup(ids), nil
}

// ConnGroups lists the connection's groups in join order; ErrNotFound if it is unknown.
func (s *Memory) ConnGroups(ctx context.Context, connID string) ([]string, error) {
	cs := &s.conns[s.shard(connID)]
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if s.find(cs, connID) == nil {
		return nil, fmt.Errorf("groups of connection %q: %w", connID, ErrNotFound)
	}
	return slices.Clone(cs.groups[connID]), nil
}

// Heartbeat renews node's lease until now+ttl. Each call also forgets the expired last-seen
// times of one user shard, so memory does not grow with every user ever seen.
func (s *Memory) Heartbeat(ctx context.Context, node string, ttl time.Duration) error {
	if node == "" || ttl <= 0 {
		return fmt.Errorf("registry: heartbeat node %q ttl %v: need a node name and a positive ttl", node, ttl)
	}
	now := s.now()
	s.nodeMu.Lock()
	s.leases[node] = now.Add(ttl)
	delete(s.claims, node) // alive again: an old claim no longer applies
	s.nodeMu.Unlock()
	s.sweepLastSeen(int(s.sweepNext.Add(1)-1) % memShards)
	return nil
}

func (s *Memory) sweepLastSeen(shard int) {
	now := s.now()
	us := &s.users[shard]
	us.mu.Lock()
	for id, u := range us.m {
		if s.expired(u, now) {
			delete(us.m, id)
		}
	}
	us.mu.Unlock()
}

// DeadNodes lists, sorted, the nodes that own connections and hold no live lease (including a
// node that registered connections but never sent a heartbeat).
func (s *Memory) DeadNodes(ctx context.Context) ([]string, error) {
	owners := map[string]struct{}{}
	gone := map[string]int{}
	for i := range s.conns {
		cs := &s.conns[i]
		cs.mu.RLock()
		for n := range cs.perNode {
			owners[n] = struct{}{}
		}
		for _, n := range cs.gone {
			gone[n]++
		}
		cs.mu.RUnlock()
	}
	for _, a := range s.attachments() {
		if a.idx.Len() > gone[a.node] {
			owners[a.node] = struct{}{}
		}
	}
	now := s.now()
	var dead []string
	s.nodeMu.Lock()
	for n := range owners {
		if until, ok := s.leases[n]; !ok || !now.Before(until) {
			dead = append(dead, n)
		}
	}
	s.nodeMu.Unlock()
	slices.Sort(dead)
	return dead, nil
}

// ClaimDeadNode returns true to exactly one claimant per ttl: the first caller, or the current
// holder renewing its claim. It returns false while node's own lease is live.
func (s *Memory) ClaimDeadNode(ctx context.Context, node, claimant string, ttl time.Duration) (bool, error) {
	if node == "" || claimant == "" || ttl <= 0 {
		return false, fmt.Errorf("registry: claim node %q by %q ttl %v: need node, claimant and a positive ttl", node, claimant, ttl)
	}
	now := s.now()
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	if until, ok := s.leases[node]; ok && now.Before(until) {
		return false, nil
	}
	if c, ok := s.claims[node]; ok && now.Before(c.until) && c.claimant != claimant {
		return false, nil
	}
	if c, ok := s.claims[node]; !ok || c.claimant != claimant || !now.Before(c.until) {
		s.reaped[node] = now.Add(ReapedTTL)
	}
	s.claims[node] = memClaim{claimant: claimant, until: now.Add(ttl)}
	return true, nil
}

// Reaped reports, once, whether a claimant won ClaimDeadNode for node within ReapedTTL.
func (s *Memory) Reaped(ctx context.Context, node string) (bool, error) {
	if node == "" {
		return false, fmt.Errorf("registry: reaped: empty node")
	}
	now := s.now()
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	until, ok := s.reaped[node]
	delete(s.reaped, node)
	return ok && now.Before(until), nil
}

// NodeConns lists node's connections. It scans every shard (and node's attached index): meant
// for dead-node cleanup and shutdown, not for hot paths.
func (s *Memory) NodeConns(ctx context.Context, node string) ([]Conn, error) {
	var out []Conn
	if idx := s.indexOf(node); idx != nil {
		idx.EachSource(func(src Source) bool {
			c := src.Info()
			cs := &s.conns[s.shard(c.ID)]
			cs.mu.RLock()
			_, gone := cs.gone[c.ID]
			cs.mu.RUnlock()
			if !gone {
				out = append(out, c)
			}
			return true
		})
	}
	for i := range s.conns {
		cs := &s.conns[i]
		cs.mu.RLock()
		if cs.perNode[node] > 0 {
			for _, e := range cs.m {
				if c := e.Info(); c.Node == node {
					out = append(out, c)
				}
			}
		}
		cs.mu.RUnlock()
	}
	return out, nil
}

// Nodes lists, sorted, the nodes with a live lease.
func (s *Memory) Nodes(ctx context.Context) ([]string, error) {
	now := s.now()
	var out []string
	s.nodeMu.Lock()
	for n, until := range s.leases {
		if now.Before(until) {
			out = append(out, n)
		} else {
			delete(s.leases, n)
		}
	}
	s.nodeMu.Unlock()
	slices.Sort(out)
	return out, nil
}

// Close does nothing: the memory store holds no outside resources.
func (s *Memory) Close() error { return nil }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
