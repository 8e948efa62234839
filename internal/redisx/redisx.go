// Package redisx is wsgate's one place for Redis plumbing that the registry's Redis store
// (registry/redisstore) and the Redis bus (bus/redisbus) share: building the client from
// store.url (a single server, Sentinel or Cluster), the key layout with its Cluster hash tags,
// and hiding passwords before a URL is logged. The two adapters take the client built here, and
// a node shares one client between them.
package redisx

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key when a config sets no store.prefix.
const DefaultPrefix = "wsgate"

// Kinds of deployment NewClient tells apart, for logs and errors.
const (
	KindServer   = "redis"
	KindSentinel = "sentinel"
	KindCluster  = "cluster"
)

// NewClient builds the go-redis client a store.url describes, and names its kind (KindServer,
// KindSentinel or KindCluster):
//
//   - redis://[user:pass@]host:6379/0, rediss://... (TLS) or unix:///path.sock: one server.
//   - ...?master_name=NAME: Sentinel. The host (plus any addr=HOST:PORT parameters, or a
//     comma-separated host list) are the sentinels; the path's number is the database.
//   - a comma-separated host list (redis://h1:6379,h2:6379), addr=HOST:PORT parameters, or
//     cluster=true: Redis Cluster, with those hosts as seeds (Cluster has only database 0).
//
// Other query parameters are go-redis options in snake case (dial_timeout=3s, pool_size=20);
// unknown ones are an error. Errors say what to write instead and never show the password.
// Nothing is dialled: the adapters ping when they start.
func NewClient(raw string) (redis.UniversalClient, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%q is not a URL: %w", Redact(raw), err)
	}
	q := u.Query()
	cluster := false
	if v := q.Get("cluster"); v != "" {
		if v != "true" && v != "false" {
			return nil, "", fmt.Errorf("cluster=%q: write cluster=true or leave it out", v)
		}
		cluster = v == "true"
		q.Del("cluster")
	}
	if u.Scheme != "unix" && strings.Contains(u.Host, ",") {
		hosts := strings.Split(u.Host, ",")
		for _, h := range hosts {
			if h == "" {
				return nil, "", fmt.Errorf("%q: empty host in the comma-separated list", Redact(raw))
			}
		}
		u.Host = hosts[0]
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
	}
	u.RawQuery = q.Encode()
	norm := u.String()
	// A command against a Redis that is down should fail within about a second, so that the
	// node reports not-ready and answers 500 promptly; the hub and the bus retry with backoff.
	fastFail := !q.Has("dialer_retries")
	switch {
	case q.Get("master_name") != "":
		o, err := redis.ParseFailoverURL(norm)
		if err != nil {
			return nil, "", fmt.Errorf("sentinel url %q: %w", Redact(raw), err)
		}
		if fastFail {
			o.DialerRetries = 1
		}
		return redis.NewFailoverClient(o), KindSentinel, nil
	case cluster || q.Has("addr"):
		if u.Path != "" && u.Path != "/" && u.Path != "/0" {
			return nil, "", fmt.Errorf("cluster url %q: Redis Cluster has only database 0; remove the path %s", Redact(raw), u.Path)
		}
		u.Path = ""
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("cluster url %q: %w", Redact(raw), err)
		}
		if fastFail {
			o.DialerRetries = 1
		}
		return redis.NewClusterClient(o), KindCluster, nil
	}
	o, err := redis.ParseURL(norm)
	if err != nil {
		return nil, "", fmt.Errorf("%q: %w (write redis://[user:password@]host:port/db)", Redact(raw), err)
	}
	if fastFail {
		o.DialerRetries = 1
	}
	return redis.NewClient(o), KindServer, nil
}

// Redact hides a password before a URL is logged or shown in an error; a string that does not
// parse as a URL loses everything before its last '@'.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			return "***" + raw[i:]
		}
		return raw
	}
	return u.Redacted()
}

// CheckPrefix returns prefix, or DefaultPrefix when it is empty, and refuses one with '{' or
// '}': those would end the hash tag of every key (see Key).
func CheckPrefix(prefix string) (string, error) {
	if prefix == "" {
		return DefaultPrefix, nil
	}
	if strings.ContainsAny(prefix, "{}") {
		return "", fmt.Errorf("prefix %q: remove '{' and '}' (they are Redis Cluster hash tags)", prefix)
	}
	return prefix, nil
}

// Key is "<prefix>:<kind>:{<tag>}": the id is the key's Cluster hash tag, so every key of one
// id (a connection's record and groups, a node's stream, lease and connections) lands in one
// slot and a script may touch them together. The tag is id itself, or, when Redis would read
// it wrongly (empty: the whole key is hashed; holding '}' or '{': the tag ends early or is
// ambiguous) or it starts with the escape mark '~', "~" + base64url(id). Distinct ids give
// distinct tags.
func Key(prefix, kind, id string) string {
	return prefix + ":" + kind + ":{" + Tag(id) + "}"
}

// ConnKey is the hash the Redis store (registry/redisstore) keeps a connection's record in,
// "<prefix>:c:{<id>}"; its field ConnNodeField names the node holding the socket. The bus
// (bus/redisbus) reads that field in the same step as it publishes to the owner, so both
// sides take the layout from here.
func ConnKey(prefix, id string) string { return Key(prefix, "c", id) }

// ConnNodeField is the field of the connection record (ConnKey) naming its node.
const ConnNodeField = "n"

// Tag is the hash-tag form of id described at Key.
func Tag(id string) string {
	if id == "" || id[0] == '~' || strings.ContainsAny(id, "{}") {
		return "~" + base64.RawURLEncoding.EncodeToString([]byte(id))
	}
	return id
}

// Ping checks that the client answers; what says who asks ("redisstore", "redisbus").
func Ping(ctx context.Context, client redis.UniversalClient, what string) error {
	if client == nil {
		return errors.New(what + ": no Redis client")
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%s: ping redis: %w", what, err)
	}
	return nil
}

// SetLogger routes go-redis's process-wide logger into log at debug level, once per process
// (the first call wins): the hub and the bus already report outages clearly.
func SetLogger(log *slog.Logger) {
	logOnce.Do(func() { redis.SetLogger(logger{log}) })
}

var logOnce sync.Once

type logger struct{ log *slog.Logger }

func (l logger) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug("redis client: " + fmt.Sprintf(format, v...))
}
