// Package dashboard serves the gateway's live page at /_wsgate/: connections and rates over the
// last minutes, integration latency and errors per route, users, groups, nodes, a live tail of
// the access log, and a connection search with a disconnect button. The page (static/, embedded:
// no CDN, works offline) draws its plots as SVG and is fed over Server-Sent Events.
//
// Access is the management API's rule: with credentials configured, the page asks for an access
// key pair, checks it here and keeps a signed session cookie; with none, only loopback clients
// are served.
//
// What is cluster-wide and what is this node's: nodes, connections per node, users online,
// group sizes, the connection search and the disconnect button read or act through the store and
// the hub, so with the Redis store they cover every node. Rates, integration latency and the
// access-log tail are this node's own (its metrics and its log); a page per node shows the rest.
package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/registry"
)

// Prefix is the path the page is served under.
const Prefix = "/_wsgate/"

// Defaults for Options.
const (
	DefaultInterval = time.Second     // one sample per second
	DefaultHistory  = 300             // five minutes of samples
	DefaultSession  = 12 * time.Hour  // how long a sign-in lasts
	clusterEvery    = 5               // store reads every 5 samples, only while a page watches
	storeTimeout    = 5 * time.Second // each store call
	maxUsersCounted = 1000            // users online are counted up to this many
	maxListed       = 50              // rows in the users and groups tables
	cookieName      = "wsgate_dashboard"
)

//go:embed static
var static embed.FS

// Hub is what the page needs of the node's hub.
type Hub interface {
	// Len is the number of sockets this node holds.
	Len() int
	// LocalGroups maps each group the node's sockets are in to how many of them are in it.
	LocalGroups() map[string]int
	// DeleteConnection closes a connection on whichever node holds it; $disconnect follows.
	DeleteConnection(ctx context.Context, id string) error
}

// Options configure New.
type Options struct {
	Node      string
	StoreType string // "memory" or "redis", shown on the page
	Hub       Hub
	Store     registry.Store
	// Gatherer is the node's metrics registry.
	Gatherer prometheus.Gatherer
	// Tail is the access-log tap (Tail.Wrap the logger the gateway writes to).
	Tail *Tail
	// Credentials maps access key ids to secret keys (management.credentials). Empty: loopback
	// only. SetCredentials replaces them (hot reload).
	Credentials map[string]string
	// SecureCookie marks the session cookie Secure (the listener serves TLS).
	SecureCookie bool
	Logger       *slog.Logger
	Interval     time.Duration // DefaultInterval
	History      int           // DefaultHistory
}

// Dashboard is the page's http.Handler and its sampler. Safe for concurrent use.
type Dashboard struct {
	o      Options
	static http.Handler
	creds  atomic.Pointer[map[string]string]

	mu       sync.Mutex
	last     counters
	readings []counters // the last routeWindowSamples+1 readings, oldest first
	history  []Point
	cluster  Cluster
	tick     int
	subs     map[chan []byte]struct{}
	done     chan struct{}
}

// Cluster is what the store says, read every few seconds while a page watches.
type Cluster struct {
	Nodes       []NodeStat  `json:"nodes"`
	UsersOnline int         `json:"usersOnline"`
	UsersCapped bool        `json:"usersCapped"` // more than maxUsersCounted
	Users       []UserStat  `json:"users"`
	Groups      []GroupStat `json:"groups"`
	Error       string      `json:"error,omitempty"`
}

// NodeStat is one node with a live lease.
type NodeStat struct {
	Node        string `json:"node"`
	Connections int    `json:"connections"`
	Self        bool   `json:"self"`
}

// UserStat is one online user.
type UserStat struct {
	UserID       string    `json:"userId"`
	Connections  int       `json:"connections"`
	LastActiveAt time.Time `json:"lastActiveAt"`
}

// GroupStat is one group: its members on every node (from the store).
type GroupStat struct {
	Group string `json:"group"`
	Size  int    `json:"size"`
}

// New returns the page. Call Run to sample.
func New(o Options) *Dashboard {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.History <= 0 {
		o.History = DefaultHistory
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Tail == nil {
		o.Tail = NewTail(0)
	}
	sub, _ := fs.Sub(static, "static")
	d := &Dashboard{
		o: o, static: http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.FileServer(http.FS(sub))),
		subs: map[chan []byte]struct{}{}, done: make(chan struct{}),
	}
	d.SetCredentials(o.Credentials)
	return d
}

// SetCredentials replaces the access key pairs the page accepts with a copy of creds, for every
// request from now on: sessions signed with a removed key end, and with none only loopback
// clients are served. Safe to call while serving.
func (d *Dashboard) SetCredentials(creds map[string]string) {
	m := maps.Clone(creds)
	if m == nil {
		m = map[string]string{}
	}
	d.creds.Store(&m)
}

// Run samples the metrics every Interval until ctx is done, then ends every open page stream.
func (d *Dashboard) Run(ctx context.Context) {
	defer close(d.done)
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	d.sample(ctx, time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			d.sample(ctx, now)
		}
	}
}

// Stats is the "stats" event: one sample and the tables.
type Stats struct {
	Node    string      `json:"node"`
	Point   Point       `json:"point"`
	Local   int         `json:"localConnections"`
	Routes  []RouteStat `json:"routes"`
	Cluster Cluster     `json:"cluster"`
}

func (d *Dashboard) sample(ctx context.Context, now time.Time) {
	cur, err := read(d.o.Gatherer, now)
	if err != nil {
		d.o.Logger.Warn("dashboard: reading metrics", observe.KeyError, err)
		return
	}
	d.mu.Lock()
	watched := len(d.subs) > 0
	d.tick++
	refresh := watched && (d.tick%clusterEvery == 1 || d.cluster.Nodes == nil)
	d.mu.Unlock()
	var cl Cluster
	if refresh {
		cl = d.readCluster(ctx)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if refresh {
		d.cluster = cl
	}
	if d.last.t.IsZero() {
		d.last = cur
		d.readings = append(d.readings, cur)
		return
	}
	p := point(d.last, cur)
	p.Connections = d.o.Hub.Len()
	d.last = cur
	d.history = append(d.history, p)
	if len(d.history) > d.o.History {
		d.history = d.history[len(d.history)-d.o.History:]
	}
	d.readings = append(d.readings, cur)
	if len(d.readings) > routeWindowSamples+1 {
		d.readings = d.readings[1:]
	}
	if !watched {
		return
	}
	b := event("stats", Stats{Node: d.o.Node, Point: p, Local: p.Connections, Routes: routeStats(d.readings[0], cur), Cluster: d.cluster})
	for ch := range d.subs {
		select {
		case ch <- b:
		default:
		}
	}
}

// readCluster asks the store for nodes, users and group sizes.
func (d *Dashboard) readCluster(ctx context.Context) Cluster {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	var cl Cluster
	var errs []string
	nodes, err := d.o.Store.Nodes(ctx)
	if err != nil {
		errs = append(errs, "nodes: "+err.Error())
	}
	if len(nodes) == 0 {
		nodes = []string{d.o.Node}
	}
	for _, n := range nodes {
		ns := NodeStat{Node: n, Self: n == d.o.Node}
		if ns.Self {
			ns.Connections = d.o.Hub.Len()
		} else if conns, err := d.o.Store.NodeConns(ctx, n); err == nil {
			ns.Connections = len(conns)
		} else {
			errs = append(errs, "node "+n+": "+err.Error())
		}
		cl.Nodes = append(cl.Nodes, ns)
	}
	cursor := ""
	for {
		page, next, err := d.o.Store.OnlineUsers(ctx, cursor, 100)
		if err != nil {
			errs = append(errs, "users: "+err.Error())
			break
		}
		for _, p := range page {
			cl.UsersOnline++
			cl.Users = append(cl.Users, UserStat{UserID: p.UserID, Connections: p.Connections, LastActiveAt: p.LastActiveAt})
		}
		if next == "" {
			break
		}
		if cl.UsersOnline >= maxUsersCounted {
			cl.UsersCapped = true
			break
		}
		cursor = next
	}
	sort.Slice(cl.Users, func(i, j int) bool {
		if cl.Users[i].Connections != cl.Users[j].Connections {
			return cl.Users[i].Connections > cl.Users[j].Connections
		}
		return cl.Users[i].UserID < cl.Users[j].UserID
	})
	if len(cl.Users) > maxListed {
		cl.Users = cl.Users[:maxListed]
	}
	// Group names come from this node's sockets (the store has no list of groups); their sizes
	// from the store, so they count members on every node.
	local := d.o.Hub.LocalGroups()
	names := make([]string, 0, len(local))
	for g := range local {
		names = append(names, g)
	}
	sort.Slice(names, func(i, j int) bool {
		if local[names[i]] != local[names[j]] {
			return local[names[i]] > local[names[j]]
		}
		return names[i] < names[j]
	})
	if len(names) > maxListed {
		names = names[:maxListed]
	}
	for _, g := range names {
		size := local[g]
		if m, err := d.o.Store.GroupMembers(ctx, g); err == nil {
			size = len(m)
		}
		cl.Groups = append(cl.Groups, GroupStat{Group: g, Size: size})
	}
	if len(errs) > 0 {
		cl.Error = strings.Join(errs, "; ")
	}
	return cl
}

func event(name string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":` + strconv.Quote(err.Error()) + `}`)
	}
	return []byte("event: " + name + "\ndata: " + string(b) + "\n\n")
}

// ServeHTTP serves everything under Prefix.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	creds := *d.creds.Load()
	if len(creds) == 0 && !isLoopback(r.RemoteAddr) {
		http.Error(w, "the wsgate page is served to loopback clients only while management.credentials is empty; configure credentials to sign in from elsewhere", http.StatusForbidden)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	if !strings.HasPrefix(rest, "api/") {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		d.static.ServeHTTP(w, r)
		return
	}
	api := strings.TrimPrefix(rest, "api/")
	if api == "login" {
		d.login(w, r, creds)
		return
	}
	who, ok := session(r, creds)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "sign in with an access key pair from management.credentials", "signIn": true})
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("X-Wsgate-Dashboard") != "1" {
		// A cross-site form cannot set this header (and a script would need a CORS preflight
		// this handler never grants), so no other site can make a signed-in browser act.
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "missing X-Wsgate-Dashboard header"})
		return
	}
	switch {
	case api == "logout" && r.Method == http.MethodPost:
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.o.SecureCookie})
		writeJSON(w, http.StatusOK, map[string]any{})
	case api == "events" && r.Method == http.MethodGet:
		d.events(w, r, who)
	case strings.HasPrefix(api, "connections/"):
		d.connection(w, r, strings.TrimPrefix(api, "connections/"))
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such API: " + r.Method + " " + r.URL.Path})
	}
}

// Hello is the first event of a stream: who the page talks to and what it missed.
type Hello struct {
	Node      string  `json:"node"`
	StoreType string  `json:"storeType"`
	SignedIn  string  `json:"signedIn,omitempty"` // access key id; empty on loopback without credentials
	History   []Point `json:"history"`
	Tail      []Line  `json:"tail"`
	Interval  int64   `json:"intervalMs"`
}

func (d *Dashboard) events(w http.ResponseWriter, r *http.Request, who string) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := make(chan []byte, 8)
	lines, stop := d.o.Tail.Subscribe(256)
	defer stop()
	d.mu.Lock()
	d.subs[ch] = struct{}{}
	d.tick = 0 // read the cluster at the next sample
	hello := Hello{Node: d.o.Node, StoreType: d.o.StoreType, SignedIn: who, History: append([]Point(nil), d.history...), Tail: d.o.Tail.Recent(), Interval: d.o.Interval.Milliseconds()}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.subs, ch)
		d.mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	if _, err := w.Write(event("hello", hello)); err != nil {
		return
	}
	fl.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		var b []byte
		select {
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		case b = <-ch:
		case l := <-lines:
			b = event("log", l)
		case <-keepalive.C:
			b = []byte(": keepalive\n\n")
		}
		if _, err := w.Write(b); err != nil {
			return
		}
		fl.Flush()
	}
}

// ConnRecord is the answer of the connection search.
type ConnRecord struct {
	registry.Conn
	Groups []string `json:"groups"`
}

func (d *Dashboard) connection(w http.ResponseWriter, r *http.Request, rest string) {
	id, action, _ := strings.Cut(rest, "/")
	if id == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "give a connection id"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	switch {
	case action == "" && r.Method == http.MethodGet:
		c, err := d.o.Store.Get(ctx, id)
		if errors.Is(err, registry.ErrNotFound) {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("no connection %q on any node", id)})
			return
		}
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": "store: " + err.Error()})
			return
		}
		groups, err := d.o.Store.ConnGroups(ctx, id)
		if err != nil && !errors.Is(err, registry.ErrNotFound) {
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": "store: " + err.Error()})
			return
		}
		if groups == nil {
			groups = []string{}
		}
		writeJSON(w, http.StatusOK, ConnRecord{Conn: c, Groups: groups})
	case action == "disconnect" && r.Method == http.MethodPost:
		if err := d.o.Hub.DeleteConnection(ctx, id); errors.Is(err, hub.ErrGone) {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("no connection %q on any node", id)})
			return
		} else if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": fmt.Sprintf("disconnect %q: %v", id, err)})
			return
		}
		d.o.Logger.Info("dashboard: connection disconnected from the page", "connectionId", id, "node", d.o.Node)
		writeJSON(w, http.StatusOK, map[string]any{"disconnected": id})
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "GET connections/{id} or POST connections/{id}/disconnect"})
	}
}

// login checks an access key pair and sets the session cookie.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request, creds map[string]string) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "POST an access key pair"})
		return
	}
	if len(creds) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"signedIn": ""})
		return
	}
	var in struct{ AccessKeyID, SecretAccessKey string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "send JSON {accessKeyId, secretAccessKey}: " + err.Error()})
		return
	}
	secret, ok := creds[in.AccessKeyID]
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(in.SecretAccessKey)) != 1 {
		d.o.Logger.Warn("dashboard: sign-in refused", "accessKeyId", in.AccessKeyID, "sourceIp", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unknown access key id or wrong secret", "signIn": true})
		return
	}
	exp := time.Now().Add(DefaultSession).Unix()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sign(in.AccessKeyID, secret, exp), Path: Prefix, MaxAge: int(DefaultSession.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: d.o.SecureCookie,
	})
	writeJSON(w, http.StatusOK, map[string]any{"signedIn": in.AccessKeyID})
}

// session reports who r is signed in as: "" and true without credentials (loopback, checked
// before), the access key id and true for a valid cookie.
func session(r *http.Request, creds map[string]string) (string, bool) {
	if len(creds) == 0 {
		return "", true
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", false
	}
	id, expS, ok := strings.Cut(c.Value, ".")
	if !ok {
		return "", false
	}
	expS, _, _ = strings.Cut(expS, ".")
	key, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", false
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil || time.Now().Unix() > exp {
		return "", false
	}
	secret, ok := creds[string(key)]
	if !ok || !hmac.Equal([]byte(sign(string(key), secret, exp)), []byte(c.Value)) {
		return "", false
	}
	return string(key), true
}

// sign makes the cookie "b64(keyId).expiry.b64(HMAC-SHA256(secret, ...))". Keyed by the
// secret, it verifies on every node with the same credentials, and dies when the key is removed.
func sign(keyID, secret string, exp int64) string {
	id := base64.RawURLEncoding.EncodeToString([]byte(keyID))
	m := hmac.New(sha256.New, []byte("wsgate-dashboard\x00"+secret))
	fmt.Fprintf(m, "%s.%d", id, exp)
	return id + "." + strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// isLoopback reports whether RemoteAddr is 127.0.0.0/8 or ::1 (IPv4-mapped included).
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
