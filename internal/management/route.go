package management

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// op names one management operation. Its String is the operation name used in logs and metrics
// (AWS's names for the three @connections operations).
type op uint8

const (
	opUnknown op = iota
	opPostToConnection
	opGetConnection
	opDeleteConnection
	opJoinGroup
	opLeaveGroup
	opPostToUser
	opGetUser
	opDeleteUser
	opGetUsers   // GET /@users?ids=a,b
	opListOnline // GET /@users
	opPostToGroup
	opGetGroup
	opBroadcast
)

var opNames = [...]string{
	opUnknown:          "Unknown",
	opPostToConnection: "PostToConnection",
	opGetConnection:    "GetConnection",
	opDeleteConnection: "DeleteConnection",
	opJoinGroup:        "JoinGroup",
	opLeaveGroup:       "LeaveGroup",
	opPostToUser:       "PostToUser",
	opGetUser:          "GetUser",
	opDeleteUser:       "DeleteUser",
	opGetUsers:         "GetUsers",
	opListOnline:       "ListOnlineUsers",
	opPostToGroup:      "PostToGroup",
	opGetGroup:         "GetGroup",
	opBroadcast:        "Broadcast",
}

func (o op) String() string { return opNames[o] }

// route is a parsed management request: the operation and its decoded path parameters.
type route struct {
	op    op
	id    string // connection id or user id
	group string
}

// errNoRoute: the method and path name no operation. The handler answers 403 Forbidden, which is
// what AWS answers for any path it does not serve.
var errNoRoute = errors.New("no such route")

// parseRoute maps a method and the path as it arrived on the wire (r.URL.EscapedPath(), still
// percent-encoded) to an operation. The path is split on "/" before any segment is decoded, so
// an id holding an encoded "/" ("a%2Fb") stays one segment. The resource segment may spell "@"
// raw or as "%40"; ids may be raw ("abc=") or encoded ("abc%3D"). It returns errNoRoute for
// anything else, and never panics (FuzzRoute).
func parseRoute(method, escapedPath, stage string) (route, error) {
	p, ok := strings.CutPrefix(escapedPath, "/")
	if !ok {
		return route{}, errNoRoute
	}
	seg, p, _ := strings.Cut(p, "/")
	if s, err := url.PathUnescape(seg); err != nil || s != stage {
		return route{}, errNoRoute
	}
	seg, p, more := strings.Cut(p, "/")
	resource, ok := resourceName(seg)
	if !ok {
		return route{}, errNoRoute
	}
	// rest holds the remaining raw segments: nil for "/@users", one for "/@users/x", ...
	var rest []string
	if more {
		rest = strings.Split(p, "/")
		if len(rest) > 3 {
			return route{}, errNoRoute
		}
		for i, s := range rest {
			d, err := url.PathUnescape(s)
			if err != nil || d == "" {
				return route{}, errNoRoute
			}
			rest[i] = d
		}
	}

	var r route
	switch resource {
	case "connections":
		switch {
		case len(rest) == 1:
			r.id = rest[0]
			r.op = pick(method, opPostToConnection, opGetConnection, opDeleteConnection, opUnknown)
		case len(rest) == 3 && rest[1] == "groups":
			r.id, r.group = rest[0], rest[2]
			r.op = pick(method, opUnknown, opUnknown, opLeaveGroup, opJoinGroup)
		}
	case "users":
		switch len(rest) {
		case 0:
			r.op = pick(method, opUnknown, opListOnline, opUnknown, opUnknown)
		case 1:
			r.id = rest[0]
			r.op = pick(method, opPostToUser, opGetUser, opDeleteUser, opUnknown)
		}
	case "groups":
		if len(rest) == 1 {
			r.group = rest[0]
			r.op = pick(method, opPostToGroup, opGetGroup, opUnknown, opUnknown)
		}
	case "broadcast":
		if len(rest) == 0 {
			r.op = pick(method, opBroadcast, opUnknown, opUnknown, opUnknown)
		}
	}
	if r.op == opUnknown {
		return route{}, errNoRoute
	}
	return r, nil
}

// resourceName returns the name after the "@" of a management resource segment, which clients
// send raw ("@connections", the Go SDK) or encoded ("%40connections", awscurl).
func resourceName(seg string) (string, bool) {
	if s, ok := strings.CutPrefix(seg, "@"); ok {
		seg = s
	} else if s, ok := strings.CutPrefix(seg, "%40"); ok {
		seg = s
	} else {
		return "", false
	}
	switch seg {
	case "connections", "users", "groups", "broadcast":
		return seg, true
	}
	return "", false
}

// pick chooses the operation for method among those a path allows.
func pick(method string, post, get, del, put op) op {
	switch method {
	case http.MethodPost:
		return post
	case http.MethodGet:
		return get
	case http.MethodDelete:
		return del
	case http.MethodPut:
		return put
	}
	return opUnknown
}
