package management

import (
	"net/url"
	"strconv"
	"strings"
)

// Limits of the extension endpoints.
const (
	// MaxNameLen is the longest user id or group name, in bytes.
	MaxNameLen = 128
	// MaxPresenceIDs is how many users one GET /@users?ids= may ask about.
	MaxPresenceIDs = 100
	// DefaultListLimit and MaxListLimit bound one page of GET /@users.
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// checkName validates a decoded user id or group name: 1 to MaxNameLen bytes of printable ASCII
// with no space ('!' through '~'). Any of those may be percent-encoded in the URL; "+" is a plus,
// never a space. The rule is wide on purpose: authorizers hand out user ids such as
// "auth0|5f1c..." and "ann+test@example.com", and a user must be addressable by the id it got.
func checkName(kind, s string) *apiError {
	if s == "" || len(s) > MaxNameLen {
		return badRequest("%s must be 1 to %d characters long, got %d", kind, MaxNameLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return badRequest("%s %q: character %d (%q) is not allowed; use printable ASCII without spaces", kind, s, i+1, c)
		}
	}
	return nil
}

// usersQuery is the query of GET /@users.
type usersQuery struct {
	ids    []string // the users asked for by ids=, in order
	cursor string
	limit  int
}

// parseUsersQuery reads ids, cursor and limit from a raw query string. ids may repeat; each is
// decoded, then split on commas, raw or encoded alike, because SigV4 signers re-encode the query
// and turn "," into "%2C" (a user id holding a comma is asked for with GET /@users/{id}). Every
// value is path-unescaped, so "+" stays a plus. Unknown parameters (X-Amz-* of a presigned URL)
// are ignored.
func parseUsersQuery(raw string) (usersQuery, *apiError) {
	q := usersQuery{limit: DefaultListLimit}
	var limitSeen, cursorSeen bool
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "ids":
			list, err := url.PathUnescape(v)
			if err != nil {
				return q, badRequest("ids: %q is not valid percent-encoding", v)
			}
			for id := range strings.SplitSeq(list, ",") {
				if ae := checkName("user id", id); ae != nil {
					return q, ae
				}
				if len(q.ids) == MaxPresenceIDs {
					return q, badRequest("ids: at most %d user ids per request; split the list", MaxPresenceIDs)
				}
				q.ids = append(q.ids, id)
			}
		case "limit":
			if limitSeen {
				return q, badRequest("limit is given more than once")
			}
			limitSeen = true
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxListLimit {
				return q, badRequest("limit %q: use a whole number from 1 to %d", v, MaxListLimit)
			}
			q.limit = n
		case "cursor":
			if cursorSeen {
				return q, badRequest("cursor is given more than once")
			}
			cursorSeen = true
			c, err := url.PathUnescape(v)
			if err != nil {
				return q, badRequest("cursor %q is not valid percent-encoding", v)
			}
			q.cursor = c
		}
	}
	return q, nil
}

// hasParam reports whether the raw query has a parameter named key.
func hasParam(raw, key string) bool {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}
