package management

import (
	"strings"
	"testing"
)

// FuzzUsersQuery: the GET /@users query parser never panics, and whatever it accepts keeps the
// documented limits, so the Backend never sees an out-of-range request.
func FuzzUsersQuery(f *testing.F) {
	for _, s := range []string{
		"", "ids=a,b", "ids=a%2Cb,c&ids=auth0|42", "ids=ann+test@example.com", "limit=1000&cursor=a%2Bb+c",
		"X-Amz-Date=x&limit=7", "ids=", "ids=a,,b", "ids=a%zz", "limit=0", "limit=1001", "limit=ten",
		"limit=1&limit=2", "cursor=%", "ids=" + strings.Repeat("u,", 101),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, ae := parseUsersQuery(raw)
		if ae != nil {
			if ae.Status != 400 || ae.Type != typeBadRequest || ae.Message == "" {
				t.Fatalf("%q: error %+v, want a 400 BadRequestException with a message", raw, ae)
			}
			return
		}
		if q.limit < 1 || q.limit > MaxListLimit || len(q.ids) > MaxPresenceIDs {
			t.Fatalf("%q: accepted limit %d with %d ids", raw, q.limit, len(q.ids))
		}
		for _, id := range q.ids {
			if checkName("user id", id) != nil {
				t.Fatalf("%q: accepted invalid id %q", raw, id)
			}
		}
		if hasParam(raw, "ids") != (q.ids != nil) {
			t.Fatalf("%q: hasParam and the parser disagree about ids (%q)", raw, q.ids)
		}
	})
}
