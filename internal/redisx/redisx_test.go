package redisx_test

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/internal/redisx"
)

// store.url picks the kind of Redis deployment; bad URLs say what to write instead.
func TestNewClientKinds(t *testing.T) {
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
		c, kind, err := redisx.NewClient(tc.url)
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
		_, _, err := redisx.NewClient(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error shows the password: %v", tc.url, err)
		}
	}
}

// Tags keep every key of one id in one slot and never collide, whatever the id holds.
func TestTag(t *testing.T) {
	seen := map[string]string{}
	for _, id := range []string{"abc=", "", "~", "~abc", "a{b", "a}b", "{}", "fL0sbd1HoAMCJdg="} {
		tag := redisx.Tag(id)
		if strings.ContainsAny(tag, "{}") || tag == "" {
			t.Errorf("Tag(%q) = %q: not usable inside {}", id, tag)
		}
		if other, dup := seen[tag]; dup {
			t.Errorf("Tag(%q) = Tag(%q) = %q", id, other, tag)
		}
		seen[tag] = id
		if k := redisx.Key("p", "c", id); k != "p:c:{"+tag+"}" {
			t.Errorf("Key = %q", k)
		}
	}
	if got := redisx.Tag("plain-id"); got != "plain-id" {
		t.Errorf("Tag of a plain id = %q, want it unchanged", got)
	}
}

func TestCheckPrefixAndRedact(t *testing.T) {
	if p, err := redisx.CheckPrefix(""); err != nil || p != redisx.DefaultPrefix {
		t.Errorf("CheckPrefix(\"\") = %q, %v", p, err)
	}
	if _, err := redisx.CheckPrefix("a{b}"); err == nil {
		t.Error("CheckPrefix(a{b}): no error")
	}
	for raw, want := range map[string]string{
		"redis://:secret@h:6379/0":     "redis://:xxxxx@h:6379/0",
		"redis://user:secret@h:6379/0": "redis://user:xxxxx@h:6379/0",
		"redis://h:6379/0":             "redis://h:6379/0",
		"::bad:secret@h":               "***@h",
	} {
		if got := redisx.Redact(raw); got != want || strings.Contains(got, "secret") {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
}
