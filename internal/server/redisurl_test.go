package server_test

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/server"
)

// store.url picks the kind of Redis deployment; bad URLs say what to write instead.
func TestNewRedisClientKinds(t *testing.T) {
	for _, tc := range []struct {
		url, kind string
		cluster   bool
	}{
		{"redis://127.0.0.1:6379/0", "redis", false},
		{"rediss://user:pw@cache.example:6380/2", "redis", false},
		{"unix:///run/redis.sock?db=1", "redis", false},
		{"redis://h1:6379,h2:6379,h3:6379", "cluster", true},
		{"redis://h1:6379?addr=h2:6379", "cluster", true},
		{"redis://cfg.example:6379?cluster=true", "cluster", true},
		{"redis://s1:26379,s2:26379/3?master_name=mymaster", "sentinel", false},
		{"redis://s1:26379?master_name=mymaster&addr=s2:26379", "sentinel", false},
	} {
		c, kind, err := server.NewRedisClient(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		_, isCluster := c.(*redis.ClusterClient)
		if kind != tc.kind || isCluster != tc.cluster {
			t.Errorf("%s: kind %q (%T), want %q", tc.url, kind, c, tc.kind)
		}
		_ = c.Close()
	}
	for _, tc := range []struct{ url, want string }{
		{"redis://h1:6379?cluster=yes", "cluster=true"},
		{"redis://h1:6379,h2:6379/2", "only database 0"},
		{"redis://h1:6379,,h2:6379", "empty host"},
		{"redis://:secret@h1:6379/0?bogus=1", "bogus"},
	} {
		_, _, err := server.NewRedisClient(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error shows the password: %v", tc.url, err)
		}
	}
}
