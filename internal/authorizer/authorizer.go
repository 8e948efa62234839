// Package authorizer decides whether a $connect handshake may open a socket (docs/aws-compatibility.md).
//
// Two kinds exist, both behind Authorizer:
//   - JWT: the token in the identity source is verified in process (HS* with a shared secret,
//     RS*/ES*/PS* against a JWKS fetched from the identity provider).
//   - REQUEST: AWS's Lambda REQUEST authorizer. The gateway sends AWS's authorizer input event to a
//     function (Lambda Invoke API, or an HTTP endpoint) and evaluates the IAM policy it returns.
//
// Either way a refusal is an *Error carrying the HTTP status the upgrade is answered with: 401 for a
// missing identity or a bad token (or a function saying "Unauthorized"), 403 for a policy that does
// not allow $connect, 500 when the authorizer itself failed. No socket is opened on a refusal.
//
// Results can be cached per identity (config resultTtl, off by default for AWS parity).
package authorizer

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/event"
	"github.com/wsgate/wsgate/internal/lambda"
)

// Defaults for what the configuration leaves out.
const (
	// DefaultIdentitySource is used when an authorizer names none (CDK's default).
	DefaultIdentitySource = "route.request.header.Authorization"
	// DefaultUserIDClaim is the JWT claim that names the user.
	DefaultUserIDClaim = "sub"
	// DefaultTimeout bounds one call to a REQUEST authorizer function (AWS gives authorizers
	// the integration limit).
	DefaultTimeout = config.DefaultIntegrationTimeout
	// DefaultCacheEntries bounds the result cache of one authorizer.
	DefaultCacheEntries = 10000
	// MaxResultBytes is AWS's limit on a REQUEST authorizer's output (limits.md: 8 KB).
	MaxResultBytes = 8 * 1024
)

// Result is what an admitted connection carries for its whole life.
//
// A Result may be shared between connections (it comes from the cache): callers must not modify
// it or its Context.
type Result struct {
	PrincipalID string
	// Context is requestContext.authorizer on every event of the connection: "principalId" plus
	// the authorizer's context entries, each a string, number (float64 or int64) or bool.
	Context map[string]any
	// UserID is the connection's user id ("" if none).
	UserID string
}

// Error is a refusal: the gateway answers the upgrade with Status and opens no socket.
// Status is 401 (missing identity, bad token, "Unauthorized"), 403 (Deny, or no Allow covering
// the methodArn) or 500 (the authorizer failed or answered something invalid). Message is what
// the client may see ("Unauthorized", "Forbidden", "Internal server error"); the cause, which
// may be sensitive, is only logged.
type Error struct {
	Status  int
	Message string
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("authorizer: %d %s: %v", e.Status, e.Message, e.cause)
	}
	return "authorizer: " + strconv.Itoa(e.Status) + " " + e.Message
}

// Unwrap returns the cause, when there is one.
func (e *Error) Unwrap() error { return e.cause }

func unauthorized(cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Message: "Unauthorized", cause: cause}
}

func forbidden(cause error) *Error {
	return &Error{Status: http.StatusForbidden, Message: "Forbidden", cause: cause}
}

func internal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Message: "Internal server error", cause: cause}
}

// Authorizer decides on CONNECT events.
type Authorizer interface {
	// Authorize decides on a CONNECT event. It returns a *Result, or an error that is always an
	// *Error. Safe for concurrent use. ctx bounds the wait; a call to a remote function also has
	// the configured timeout.
	Authorize(ctx context.Context, ev *event.Event) (*Result, error)
	// Close stops background work (JWKS refresh). Authorize must not be called after Close.
	Close() error
}

// Sourced is an Authorizer that reads nothing of a CONNECT event but its identity sources until
// it must send the event somewhere (a REQUEST authorizer's cache miss; never, for a JWT). The
// gateway then builds the event with only the headers and query parameters those sources name
// (the maps of every header cost a few KB per handshake), and the whole event only if full is
// called.
type Sourced interface {
	Authorizer
	// IdentitySources are the configured sources (route.request.header.NAME, ...).
	IdentitySources() []string
	// SourceNames is SourceNames(IdentitySources()), worked out once (the gateway asks on
	// every handshake). The slices are shared: callers must not modify them.
	SourceNames() (headers, query []string, context bool)
	// AuthorizeSourced is Authorize on ev, which holds at least what the identity sources name;
	// full returns the whole CONNECT event (built once, on the first call).
	AuthorizeSourced(ctx context.Context, ev *event.Event, full func() *event.Event) (*Result, error)
}

// Valued is a Sourced authorizer that decides on its identity values alone, never reading the
// CONNECT event (a JWT authorizer): where HandshakeValues can read the values from the
// handshake, the gateway builds no event for it.
type Valued interface {
	Sourced
	// AuthorizeValues is AuthorizeSourced on an event whose IdentityValues are vals (one
	// non-empty value per identity source, in order).
	AuthorizeValues(ctx context.Context, vals []string) (*Result, error)
}

// SourceNames are the header and query parameter names identity sources read: headers in
// lower case (they match case-insensitively), query parameters as given; context reports a
// context.NAME source (the event's requestContext).
func SourceNames(sources []string) (headers, query []string, context bool) {
	for _, s := range sources {
		switch {
		case strings.HasPrefix(s, srcHeader):
			headers = append(headers, strings.ToLower(s[len(srcHeader):]))
		case strings.HasPrefix(s, srcHTTPHeader):
			headers = append(headers, strings.ToLower(s[len(srcHTTPHeader):]))
		case strings.HasPrefix(s, srcQuery):
			query = append(query, s[len(srcQuery):])
		case strings.HasPrefix(s, srcHTTPQuery):
			query = append(query, s[len(srcHTTPQuery):])
		case strings.HasPrefix(s, srcContext):
			context = true
		}
	}
	return headers, query, context
}

// sourceNames is what SourceNames says of an authorizer's sources, kept with it.
type sourceNames struct {
	headers, query []string
	context        bool
}

func namesOf(sources []string) sourceNames {
	h, q, c := SourceNames(sources)
	return sourceNames{h, q, c}
}

// SourceNames implements Sourced.
func (n *sourceNames) SourceNames() (headers, query []string, context bool) {
	return n.headers, n.query, n.context
}

// Options are the gateway-wide settings an authorizer needs besides its own config.
type Options struct {
	// HTTPClient calls JWKS URLs, HTTP authorizers and the Lambda Invoke API; default: a client
	// without timeout (every call has its own deadline).
	HTTPClient *http.Client
	// Region, AccountID, APIID and Stage make the methodArn
	// arn:aws:execute-api:{Region}:{AccountID}:{APIID}/{Stage}/$connect.
	Region, AccountID, APIID, Stage string
	StageVariables                  map[string]string
	Logger                          *slog.Logger
	// Now is the clock for token times, cache expiry and JWKS refetch limits (tests).
	Now func() time.Time
	// Function, when set, returns the function wsgate runs itself that a REQUEST authorizer's
	// uri names (nil when it names none); such an authorizer without an endpoint invokes it
	// instead of the Lambda Invoke API.
	Function func(uri string) lambda.Function
}

func (o *Options) fill() {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Region == "" {
		o.Region = config.DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = config.DefaultAccountID
	}
	if o.APIID == "" {
		o.APIID = config.DefaultAPIID
	}
	if o.Stage == "" {
		o.Stage = config.DefaultStage
	}
}

// MethodArn is the resource a REQUEST authorizer's policy must allow.
func (o Options) MethodArn() string {
	return "arn:aws:execute-api:" + o.Region + ":" + o.AccountID + ":" + o.APIID + "/" + o.Stage + "/" + event.RouteConnect
}

// New builds the authorizer called name from cfg. Errors name the setting to fix, prefixed with
// authorizers.{name}. A JWT authorizer with a JWKS URL starts a background refresh that Close stops.
func New(name string, cfg config.Authorizer, o Options) (Authorizer, error) {
	o.fill()
	sources := []string(cfg.IdentitySource)
	if len(sources) == 0 {
		sources = []string{DefaultIdentitySource}
	}
	for i, s := range sources {
		if err := checkSource(s); err != nil {
			return nil, fmt.Errorf("authorizers.%s.identitySource[%d]: %w", name, i, err)
		}
	}
	if cfg.ResultTTL.D() < 0 {
		return nil, fmt.Errorf("authorizers.%s.resultTtl %s: must not be negative (0 turns the cache off)", name, cfg.ResultTTL.D())
	}
	switch cfg.Type {
	case config.JWT:
		a, err := newJWT(name, cfg, sources, o)
		if err != nil {
			return nil, fmt.Errorf("authorizers.%s: %w", name, err)
		}
		return a, nil
	case config.Request:
		a, err := newRequest(name, cfg, sources, o)
		if err != nil {
			return nil, fmt.Errorf("authorizers.%s: %w", name, err)
		}
		return a, nil
	default:
		return nil, fmt.Errorf("authorizers.%s.type %q: use %s or %s", name, cfg.Type, config.JWT, config.Request)
	}
}
