package event

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"time"
)

// Header is one header line of the handshake, the name in the client's spelling.
type Header struct {
	Name, Value string
}

// HeaderMaps builds the headers and multiValueHeaders of a proxy event from header lines in
// the order they were sent, as API Gateway's Lambda proxy format does: headers holds the last
// value of each name and multiValueHeaders all of them in order ("Support for multi-value
// headers and query string parameters", API Gateway Developer Guide, Lambda proxy
// integrations). Names keep the client's spelling; lines whose names differ only in case are
// one header (RFC 9110 §5.1), filed under the spelling seen first. skip, if not nil, leaves out
// the names it reports true for (compared case-insensitively by the caller).
func HeaderMaps(lines []Header, skip func(name string) bool) (map[string]string, map[string][]string) {
	single := make(map[string]string, len(lines))
	multi := make(map[string][]string, len(lines))
	first := make(map[string]string, len(lines)) // lower-case name -> the spelling seen first
	for _, l := range lines {
		if skip != nil && skip(l.Name) {
			continue
		}
		lower := strings.ToLower(l.Name)
		name, seen := first[lower]
		if !seen {
			name = l.Name
			first[lower] = name
		}
		single[name] = l.Value
		multi[name] = append(multi[name], l.Value)
	}
	return single, multi
}

// TraceHeader is the header API Gateway adds to CONNECT events and integration requests.
const TraceHeader = "X-Amzn-Trace-Id"

// NewTraceID returns an X-Ray trace header value in AWS's format,
// "Root=1-{8 hex digits of the epoch second}-{24 hex digits}" (AWS X-Ray Developer Guide,
// "Tracing header"; every real CONNECT capture carries one). The 96 random bits come from the
// runtime's per-thread ChaCha8 generator (math/rand/v2): a trace id must be unique, not secret,
// and crypto/rand's DRBG was a few percent of a handshake with an authorizer.
func NewTraceID(now time.Time) string {
	var b [40]byte // "Root=1-", 8 hex digits, "-", 24 hex digits
	copy(b[:], "Root=1-")
	var epoch [4]byte
	binary.BigEndian.PutUint32(epoch[:], uint32(now.Unix()))
	hex.Encode(b[7:15], epoch[:])
	b[15] = '-'
	var r [12]byte
	binary.LittleEndian.PutUint64(r[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(r[8:], rand.Uint32())
	hex.Encode(b[16:], r[:])
	return string(b[:])
}

type traceKey struct{}

// WithTraceID returns ctx carrying the trace header value integrations send as X-Amzn-Trace-Id.
func WithTraceID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceKey{}, id)
}

// TraceID returns the trace header value of ctx, or "".
func TraceID(ctx context.Context) string {
	s, _ := ctx.Value(traceKey{}).(string)
	return s
}
