package management

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/registry"
)

// timeLayout is ISO-8601 in UTC with milliseconds. Smithy's date-time parser (what the SDKs use
// for GetConnection) accepts the fraction; the extensions use the same layout for consistency.
const timeLayout = "2006-01-02T15:04:05.000Z"

// isoTime renders a time.Time as timeLayout. Fields of this type are tagged omitzero where a
// missing time is meaningful ("never seen").
type isoTime time.Time

func (t isoTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timeLayout)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

func (t isoTime) IsZero() bool { return time.Time(t).IsZero() }

// connectionJSON is GetConnection's answer, AWS's shape (docs/aws-compatibility.md) plus userId, a
// wsgate extension present only when the connection has a user.
type connectionJSON struct {
	ConnectedAt  isoTime      `json:"connectedAt"`
	Identity     identityJSON `json:"identity"`
	LastActiveAt isoTime      `json:"lastActiveAt"`
	UserID       string       `json:"userId,omitempty"`
}

type identityJSON struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent,omitempty"`
}

func toConnectionJSON(c registry.Conn) connectionJSON {
	last := c.LastActiveAt
	if last.IsZero() { // a connection that never sent anything was last active when it connected
		last = c.ConnectedAt
	}
	return connectionJSON{
		ConnectedAt:  isoTime(c.ConnectedAt),
		Identity:     identityJSON{SourceIP: c.SourceIP, UserAgent: c.UserAgent},
		LastActiveAt: isoTime(last),
		UserID:       c.UserID,
	}
}

// presenceJSON is one user's presence. lastActiveAt is left out for a user never seen.
type presenceJSON struct {
	UserID       string  `json:"userId"`
	Online       bool    `json:"online"`
	Connections  int     `json:"connections"`
	LastActiveAt isoTime `json:"lastActiveAt,omitzero"`
}

func toPresenceJSON(p registry.Presence) presenceJSON {
	return presenceJSON{UserID: p.UserID, Online: p.Online, Connections: p.Connections, LastActiveAt: isoTime(p.LastActiveAt)}
}

// usersJSON answers GET /@users (with nextCursor, "" on the last page) and GET /@users?ids=.
type usersJSON struct {
	Users      []presenceJSON `json:"users"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

func toUsersJSON(ps []registry.Presence, next string) usersJSON {
	u := usersJSON{Users: make([]presenceJSON, len(ps)), NextCursor: next}
	for i, p := range ps {
		u.Users[i] = toPresenceJSON(p)
	}
	return u
}

type memberJSON struct {
	ConnectionID string  `json:"connectionId"`
	UserID       string  `json:"userId,omitempty"`
	ConnectedAt  isoTime `json:"connectedAt"`
}

type groupJSON struct {
	Group       string       `json:"group"`
	Connections []memberJSON `json:"connections"`
}

func toGroupJSON(group string, cs []registry.Conn) groupJSON {
	g := groupJSON{Group: group, Connections: make([]memberJSON, len(cs))}
	for i, c := range cs {
		g.Connections[i] = memberJSON{ConnectionID: c.ID, UserID: c.UserID, ConnectedAt: isoTime(c.ConnectedAt)}
	}
	return g
}

type nodeJSON struct {
	Node        string       `json:"node"`
	Connections []memberJSON `json:"connections"`
}

type nodesJSON struct {
	Nodes []nodeJSON `json:"nodes"`
}

// toNodesJSON orders nodes by name and each node's connections by connectedAt, then id.
func toNodesJSON(nodes map[string][]registry.Conn) nodesJSON {
	out := nodesJSON{Nodes: []nodeJSON{}}
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		cs := slices.Clone(nodes[name])
		slices.SortFunc(cs, func(a, b registry.Conn) int {
			return cmp.Or(a.ConnectedAt.Compare(b.ConnectedAt), strings.Compare(a.ID, b.ID))
		})
		out.Nodes = append(out.Nodes, nodeJSON{Node: name, Connections: toGroupJSON("", cs).Connections})
	}
	return out
}

type userDeliveredJSON struct {
	UserID    string `json:"userId"`
	Delivered int    `json:"delivered"`
}

type userDisconnectedJSON struct {
	UserID       string `json:"userId"`
	Disconnected int    `json:"disconnected"`
}

type groupDeliveredJSON struct {
	Group     string `json:"group"`
	Delivered int    `json:"delivered"`
}

type broadcastJSON struct {
	Delivered int `json:"delivered"`
}

type errorJSON struct {
	Message string `json:"message"`
}
