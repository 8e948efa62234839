package management

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wsgate/wsgate/internal/sigv4"
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
	opListNodes // GET /@nodes
	opPostBatch // POST /@batch
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
	opListNodes:        "ListNodes",
	opPostBatch:        "PostBatch",
}

func (o op) String() string { return opNames[o] }

// route is a parsed management request: the operation and its decoded path parameters.
type route struct {
	op    op
	id    string // connection id or user id
	group string
}

// Errors parseRoute returns for a request it does not route. They decide the answer, each as
// AWS gives it for such a request:
//   - errNotManagement: the path is not under the stage, or it is under the stage and names no
//     "@" resource at all ("/dev/abc=": what a client whose base URL lacks the trailing slash of
//     ".../@connections/" sends). 403 {"message":"Forbidden"} at once, before the body is read
//     or the signature checked: AWS answers a path it does not serve so (aws-sdk-php#3103 and
//     #1955, a path without the stage; dotNetify's AWS guide, a Connection URL without its
//     trailing slash).
//   - a *apiError NotFoundException (404): the path is under the stage and holds an "@" resource
//     further on ("/dev/dev/@connections/{id}", a doubled stage). AWS answers
//     {"message":"No method found matching route dev/@connections/{id} for http method POST."}
//     (aws-sdk-php#3040).
//   - errNoRoute: "/{stage}/@..." with a method or shape no operation has. 403 Forbidden, after
//     authentication.
var (
	errNoRoute       = errors.New("no such route")
	errNotManagement = errors.New("not a management path")
)

// parseRoute maps a method and the path as it arrived on the wire (r.URL.EscapedPath(), still
// percent-encoded) to an operation. Runs of "/" are first collapsed as SigV4 signs the path
// (sigv4.NormalizePath): the JavaScript SDK v3 sends "/dev//@connections/{id}" when its
// endpoint ends in "/" and signs "/dev/@connections/{id}", and AWS serves it. The path is split
// on "/" before any segment is decoded, so an id holding an encoded "/" ("a%2Fb") stays one
// segment. The resource segment may spell "@" raw or as "%40"; ids may be raw ("abc=") or
// encoded ("abc%3D"). It returns one of the errors above for anything else, and never panics
// (FuzzRoute).
func parseRoute(method, escapedPath, stage string) (route, error) {
	p, ok := cutStage(escapedPath, stage)
	if !ok {
		return route{}, errNotManagement
	}
	seg, tail, more := strings.Cut(p, "/")
	if !isResource(seg) {
		if hasResource(tail) {
			return route{}, noMethod(method, p)
		}
		return route{}, errNotManagement
	}
	resource, ok := resourceName(seg)
	if !ok {
		return route{}, errNoRoute
	}
	p = tail
	// rest holds the remaining decoded segments: none for "/@users", one for "/@users/x", ...
	// (an array, not strings.Split: no allocation per request).
	var segs [3]string
	var rest []string
	if more {
		n := 0
		for s := range strings.SplitSeq(p, "/") {
			if n == len(segs) {
				return route{}, errNoRoute
			}
			d, err := url.PathUnescape(s)
			if err != nil || d == "" {
				return route{}, errNoRoute
			}
			segs[n] = d
			n++
		}
		rest = segs[:n]
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
	case "nodes":
		if len(rest) == 0 {
			r.op = pick(method, opUnknown, opListNodes, opUnknown, opUnknown)
		}
	case "batch":
		if len(rest) == 0 {
			r.op = pick(method, opPostBatch, opUnknown, opUnknown, opUnknown)
		}
	}
	if r.op == opUnknown {
		return route{}, errNoRoute
	}
	return r, nil
}

// cutStage normalises an escaped path (sigv4.NormalizePath) and, if its first segment decodes
// to stage, returns what follows "/{stage}/" ("" for "/{stage}"). The one stage check.
func cutStage(escapedPath, stage string) (string, bool) {
	p, ok := strings.CutPrefix(sigv4.NormalizePath(escapedPath), "/")
	if !ok {
		return "", false
	}
	seg, p, _ := strings.Cut(p, "/")
	if s, err := url.PathUnescape(seg); err != nil || s != stage {
		return "", false
	}
	return p, true
}

// MentionsResource reports whether an escaped path has "@" (raw or as "%40") anywhere: a cheap
// superset of the paths whose resource segment isResource accepts, for a caller that must
// decide without parsing whether a request can be the management API's.
func MentionsResource(escapedPath string) bool {
	return strings.IndexByte(escapedPath, '@') >= 0 || strings.Contains(escapedPath, "%40")
}

// isResource reports whether a raw path segment starts with "@" or "%40": a management
// resource, known or not. The one place that rule is written.
func isResource(seg string) bool {
	return strings.HasPrefix(seg, "@") || strings.HasPrefix(seg, "%40")
}

// hasResource reports whether any segment of a raw path is a management resource.
func hasResource(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if isResource(seg) {
			return true
		}
	}
	return false
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
	case "connections", "users", "groups", "broadcast", "nodes", "batch":
		return seg, true
	}
	return "", false
}

// noMethod is AWS's answer to a path under the stage that holds a management resource but not
// where one is served, route being the path after "/{stage}/" (aws-sdk-php#3040):
// 404 NotFoundException "No method found matching route dev/@connections/abc= for http method
// POST.".
func noMethod(method, route string) *apiError {
	if d, err := url.PathUnescape(route); err == nil {
		route = d
	}
	return &apiError{http.StatusNotFound, typeNotFound,
		"No method found matching route " + route + " for http method " + method + "."}
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
