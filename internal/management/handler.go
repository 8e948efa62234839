// Package management serves the management API: AWS's @connections operations (PostToConnection,
// GetConnection, DeleteConnection), on the wire exactly as the AWS SDKs expect them
// (docs/aws-compatibility.md), and wsgate's extensions for users, groups, presence and broadcast
// (docs/management-api.md). The work itself is done by a Backend (the hub).
package management

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgate/wsgate/internal/observe"
	"github.com/wsgate/wsgate/internal/sigv4"
)

// Defaults for Options.
const (
	// DefaultMaxBody is AWS's PostToConnection limit (128 KB); larger requests get 413.
	DefaultMaxBody = 128 << 10
	// DefaultTimeout bounds each Backend call (which may reach Redis and another node).
	DefaultTimeout = 10 * time.Second
)

// Options configure New.
type Options struct {
	// Stage is the first path segment the handler answers under ("dev" for /dev/@connections/x).
	Stage string
	// Backend does the work. Required.
	Backend Backend
	// Verifier checks the SigV4 signature of every request, loopback included. Nil (or a
	// Verifier without credentials, until SetCredentials gives it some) means no credentials
	// are configured: then only loopback clients (127.0.0.0/8, ::1, judged by
	// r.RemoteAddr) are served and others get 403 ForbiddenException. Behind a reverse proxy on
	// the same host every client looks local, so configure credentials there.
	Verifier *sigv4.Verifier
	// TrustLoopback, with a Verifier, serves loopback callers without checking their signature
	// (signed or not, whatever key), as when no credentials are configured, and verifies every
	// other caller: set when no credentials are configured and the Verifier holds only the key
	// wsgate generated for the functions it runs, which may reach the node from a non-loopback
	// address. SetTrustLoopback changes it on a running handler.
	TrustLoopback bool
	// MaxBody caps the request body; larger requests get 413 PayloadTooLargeException.
	// Default DefaultMaxBody. It is also the limit of each message in a batch.
	MaxBody int64
	// MaxBatchBody caps the body of POST /@batch (413 past it). Default DefaultMaxBatchBody.
	MaxBatchBody int64
	// Timeout bounds each Backend call. Default DefaultTimeout.
	Timeout time.Duration
	// Logger receives server errors (Error) and, when enabled, one Debug line per request.
	// Default: discard.
	Logger *slog.Logger
	// Observe, if set, is called once per request after the answer is written, with the
	// operation name ("PostToConnection", "GetUser", ..., "Unknown" for an unrouted path), the
	// status and the time taken; for the access log and metrics. It must be safe for
	// concurrent use and must not block.
	Observe func(op string, status int, d time.Duration)
}

// Handler answers every request to the node's listener that is not a WebSocket upgrade (see
// IsConnectPath): the management API under /{Stage}/@..., and AWS's JSON errors for anything
// else. It holds no per-request state and is safe for concurrent use.
type Handler struct {
	o   Options
	ids *requestIDs
	// trustLoopback is Options.TrustLoopback, changed by SetTrustLoopback (a reload that adds
	// or removes configured credentials).
	trustLoopback atomic.Bool
}

// New returns the management API handler. It serves, under /{Stage}/:
//
//	POST|GET|DELETE /@connections/{id}
//	PUT|DELETE      /@connections/{id}/groups/{group}
//	POST|GET|DELETE /@users/{userId}
//	GET             /@users?ids=a,b,c    GET /@users?limit=&cursor=
//	POST|GET        /@groups/{group}
//	POST            /@broadcast
//
// "@" may be sent raw or as "%40", path parameters raw or percent-encoded, and runs of "/" are
// read as one (parseRoute). The server sends it every request that is not a WebSocket upgrade
// for a path IsConnectPath accepts; what it does not serve gets AWS's answer for it: 403
// ForbiddenException {"message":"Forbidden"} for a wrong stage, a path with no "@" resource, or
// a method a management path does not serve; 404 NotFoundException "No method found matching
// route ..." for a management resource further down the path (a doubled stage). Every answer
// carries x-amzn-RequestId; every error also X-Amzn-ErrorType and a JSON body {"message": ...},
// which is what SDKs decode into typed errors.
func New(o Options) *Handler {
	if o.Backend == nil {
		panic("management.New: Options.Backend is nil")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxBatchBody <= 0 {
		o.MaxBatchBody = DefaultMaxBatchBody
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, ids: newRequestIDs()}
	h.trustLoopback.Store(o.TrustLoopback)
	return h
}

// SetTrustLoopback sets Options.TrustLoopback for the requests that start after it returns.
func (h *Handler) SetTrustLoopback(trust bool) { h.trustLoopback.Store(trust) }

// IsConnectPath reports whether escapedPath (r.URL.EscapedPath()) is one a WebSocket client
// connects to: /{Stage} or /{Stage}/{path} whose first segment after the stage is not a
// management resource ("@..." or "%40..."). The server sends a WebSocket upgrade for such a
// path to the gateway, and every other request here; nothing else checks the stage.
func (h *Handler) IsConnectPath(escapedPath string) bool {
	p, ok := cutStage(escapedPath, h.o.Stage)
	if !ok {
		return false
	}
	seg, _, _ := strings.Cut(p, "/")
	return !isResource(seg)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := h.ids.next()
	w.Header()["X-Amzn-Requestid"] = []string{reqID}

	rt, routeErr := parseRoute(r.Method, EscapedPath(r.URL), h.o.Stage)
	if rt.op == opListOnline && hasParam(r.URL.RawQuery, "ids") {
		rt.op = opGetUsers
	}
	status, refused, err := h.serve(w, r, rt, routeErr)

	// One line per request: an error for a failure of ours, a warning for a refused caller
	// (never the secret: the access key id and what was wrong), debug otherwise.
	level, msg := slog.LevelDebug, "management request"
	switch {
	case err != nil && status >= 500:
		level, msg = slog.LevelError, "management request failed"
	case refused != "":
		level, msg = slog.LevelWarn, "management request refused"
	}
	if h.o.Logger.Enabled(r.Context(), level) {
		attrs := []slog.Attr{
			slog.String(observe.KeyOperation, rt.op.String()), slog.String(observe.KeyRequestID, reqID),
			slog.Int(observe.KeyStatus, status), slog.String(observe.KeySourceIP, hostOf(r.RemoteAddr)),
			slog.String(observe.KeyAccessKeyID, sigv4.AccessKeyID(r)), slog.String(observe.KeyPath, EscapedPath(r.URL)),
			slog.Float64(observe.KeyResponseLatency, observe.Millis(time.Since(start))),
		}
		if refused != "" {
			attrs = append(attrs, slog.String(observe.KeyReason, refused))
		}
		if err != nil {
			attrs = append(attrs, slog.String(observe.KeyError, err.Error()))
		}
		h.o.Logger.LogAttrs(r.Context(), level, msg, attrs...)
	}
	if h.o.Observe != nil {
		h.o.Observe(rt.op.String(), status, time.Since(start))
	}
}

// serve answers one request and returns the status written and, for a failure, the cause.
// The body is read before authentication because SigV4 signs its hash.
// refused is the reason authentication failed ("signature mismatch", "not loopback"), "" when
// it passed or did not run.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rt route, routeErr error) (status int, refused string, err error) {
	if routeErr == errNotManagement {
		return writeError(w, errForbidden), "", routeErr
	}
	limit := h.o.MaxBody
	if rt.op == opPostBatch {
		limit = h.o.MaxBatchBody
	}
	body, buf, ae := readBody(r, limit)
	if buf != nil {
		defer releaseBody(buf)
	}
	if ae != nil {
		return writeError(w, ae), "", ae
	}
	if ae, reason := h.authenticate(r, body); ae != nil {
		return writeError(w, ae), reason, ae
	}
	if routeErr != nil {
		return writeError(w, asAPIError(routeErr, errForbidden)), "", routeErr
	}
	ctx := newOpContext(r.Context(), h.o.Timeout)
	defer ctx.release()
	status, err = h.dispatch(ctx, w, r, rt, body)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = backendError(err, what(rt))
		}
		return writeError(w, ae), "", err
	}
	return status, "", nil
}

// asAPIError is err's *apiError, or otherwise. (Apart from serve so that its errors.As target
// is allocated only for an error.)
func asAPIError(err error, otherwise *apiError) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return otherwise
}

// readBody reads the whole body, refusing more than limit bytes with 413. buf, when not nil,
// is the pooled buffer holding a small body: releaseBody gives it back once the request is
// answered.
func readBody(r *http.Request, limit int64) (body []byte, buf *[]byte, ae *apiError) {
	n := r.ContentLength
	switch {
	case n > limit:
		return nil, nil, tooLarge(limit)
	case n == 0 || r.Body == nil || r.Body == http.NoBody:
		return nil, nil, nil
	case n > 0: // the server stops the body at Content-Length
		if n <= maxPooledBody {
			buf = bodyBuffer()
			body = (*buf)[:n]
		} else {
			body = make([]byte, n)
		}
		if _, err := io.ReadFull(r.Body, body); err != nil {
			if buf != nil {
				releaseBody(buf)
			}
			return nil, nil, badRequest("reading the request body: %v", err)
		}
		return body, buf, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, nil, badRequest("reading the request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, nil, tooLarge(limit)
	}
	return b, nil, nil
}

// bodies holds request body buffers of maxPooledBody bytes. A push is delivered from the body
// as read (the frame is made from it; no Backend keeps it, see Backend), so the buffer goes back
// here once the request is answered: no allocation per push for its message.
var bodies = sync.Pool{New: func() any { b := make([]byte, maxPooledBody); return &b }}

const maxPooledBody = 16 << 10

func bodyBuffer() *[]byte { return bodies.Get().(*[]byte) }

// releaseBody gives a buffer from bodyBuffer back; what was read into it must not be used
// afterwards.
func releaseBody(b *[]byte) { bodies.Put(b) }

// authenticate applies SigV4 when a Verifier has credentials and the loopback rule otherwise
// (loopback callers served without a signature check, others refused); with TrustLoopback
// both: loopback callers are served as they are, every other caller is verified.
// A refusal comes with a short reason for the log. SigV4 failures carry AWS's own types
// (InvalidSignatureException, UnrecognizedClientException, MissingAuthenticationTokenException,
// IncompleteSignatureException; see sigv4's Type constants for the sources).
func (h *Handler) authenticate(r *http.Request, body []byte) (*apiError, string) {
	if h.o.Verifier == nil || !h.o.Verifier.HasCredentials() {
		if isLoopback(r.RemoteAddr) {
			return nil, ""
		}
		return errForbidden, "not loopback (no management credentials configured)"
	}
	if h.trustLoopback.Load() && isLoopback(r.RemoteAddr) {
		return nil, ""
	}
	err := h.o.Verifier.Verify(r, body)
	if err == nil {
		return nil, ""
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &apiError{http.StatusForbidden, se.Type, se.Message}, se.Reason
	}
	return errForbidden, "signature not verified"
}

// EscapedPath is u.EscapedPath() without its check of RawPath: a server fills RawPath from the
// request line only when it differs from the default encoding of Path, so it is the path as
// sent; the check (a PathUnescape) was an allocation per request.
func EscapedPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.EscapedPath()
}

// Header values the answers share. net/http only reads them.
var (
	jsonContentType = []string{"application/json"}
	zeroLength      = []string{"0"}
)

// hostOf is the IP of a RemoteAddr ("203.0.113.7:5000" -> "203.0.113.7").
func hostOf(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// isLoopback reports whether a RemoteAddr ("127.0.0.1:5000", "[::1]:5000") is a loopback
// address, IPv4-mapped IPv6 included.
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// what names the target of rt in error messages.
func what(rt route) string {
	switch rt.op {
	case opPostToUser, opGetUser, opDeleteUser:
		return "user " + strconv.Quote(rt.id)
	case opPostToGroup, opGetGroup:
		return "group " + strconv.Quote(rt.group)
	case opBroadcast, opGetUsers, opListOnline, opListNodes, opPostBatch:
		return "the gateway"
	}
	return "connection " + strconv.Quote(rt.id)
}

// writeJSON writes v as a 200 (or status) JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) (int, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	hdr["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b) // a client gone mid-answer is not our failure
	return status, nil
}

// writeEmpty writes a bodiless answer: 200 for PostToConnection (application/json, length 0,
// as AWS) and 204 for the deletes and group membership changes.
func writeEmpty(w http.ResponseWriter, status int) (int, error) {
	if status != http.StatusNoContent {
		hdr := w.Header()
		hdr["Content-Type"] = jsonContentType
		hdr["Content-Length"] = zeroLength
	}
	w.WriteHeader(status)
	return status, nil
}

// writeError writes ae and returns its status.
func writeError(w http.ResponseWriter, ae *apiError) int {
	b, _ := json.Marshal(errorJSON{Message: ae.Message}) // a struct of one string cannot fail
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	hdr["Content-Length"] = []string{strconv.Itoa(len(b))}
	hdr["X-Amzn-Errortype"] = []string{ae.Type}
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b)
	return ae.Status
}
