// Package event models what integrations receive: the Amazon API Gateway WebSocket proxy event,
// field for field (docs/aws-compatibility.md), plus wsgate's additive extensions.
//
// The JSON shape is the contract existing Lambda handlers decode; never rename or retype an AWS
// field here. Extensions are new fields only (Path, and RequestContext.UserID).
package event

import (
	"strconv"
	"time"
)

// Event types as AWS spells them in requestContext.eventType.
const (
	Connect    = "CONNECT"
	Message    = "MESSAGE"
	Disconnect = "DISCONNECT"
)

// Reserved route keys.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// Identity is requestContext.identity. AWS leaves userAgent out when the client sent none.
type Identity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent,omitempty"`
}

// RequestContext is the event's requestContext. Field order follows real captures.
type RequestContext struct {
	RouteKey             string         `json:"routeKey"`
	DisconnectStatusCode *int           `json:"disconnectStatusCode,omitempty"`
	MessageID            string         `json:"messageId,omitempty"`
	EventType            string         `json:"eventType"`
	ExtendedRequestID    string         `json:"extendedRequestId"`
	RequestTime          string         `json:"requestTime"`
	MessageDirection     string         `json:"messageDirection"`
	DisconnectReason     *string        `json:"disconnectReason,omitempty"`
	Stage                string         `json:"stage"`
	ConnectedAt          int64          `json:"connectedAt"`
	RequestTimeEpoch     int64          `json:"requestTimeEpoch"`
	Identity             Identity       `json:"identity"`
	RequestID            string         `json:"requestId"`
	DomainName           string         `json:"domainName"`
	ConnectionID         string         `json:"connectionId"`
	APIID                string         `json:"apiId"`
	Authorizer           map[string]any `json:"authorizer,omitempty"`

	// UserID is a wsgate extension: the user id an authorizer assigned to the connection.
	UserID string `json:"userId,omitempty"`
}

// Event is the proxy event. Headers and query parameters are set on CONNECT only (and the fixed
// gateway headers on DISCONNECT), as on AWS.
type Event struct {
	Headers                         map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders,omitempty"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters,omitempty"`
	RequestContext                  RequestContext      `json:"requestContext"`
	Body                            string              `json:"body,omitempty"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`

	// Path is a wsgate extension: the URL path after the stage ("/rooms/42"), "/" when none.
	// AWS accepts no path after the stage; its users copy it into a ws-uri header by proxy.
	Path string `json:"path,omitempty"`

	// UpgradeHeaders are the handshake's Connection and Upgrade lines as sent. AWS leaves them
	// out of the CONNECT event but passes them to REQUEST authorizers (captured authorizer
	// inputs carry "Connection: upgrade" and "Upgrade: websocket"), which add them to the CONNECT
	// headers. Not part of the event's JSON.
	UpgradeHeaders []Header `json:"-"`

	// Frame is the message's payload as the client sent it, on the MESSAGE events the gateway
	// builds (nil on others): integrations that send the frame itself (HTTP_PROXY, HTTP, MOCK,
	// AWS) take it as is instead of copying Body back to bytes or decoding its base64. Read
	// only. Not part of the event's JSON.
	Frame []byte `json:"-"`
}

// RequestTimeLayout is the CLF layout AWS uses for requestContext.requestTime.
const RequestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// FormatRequestTime renders t as AWS does ("20/Jan/2024:11:55:00 +0000"), in UTC: the same
// text as t.UTC().Format(RequestTimeLayout), written digit by digit (it runs for every message;
// time.Format's layout interpretation was 2 % of the gateway's CPU in the echo benchmark).
func FormatRequestTime(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(RequestTimeLayout)
	}
	h, mi, sec := t.Clock()
	var b [26]byte
	two := func(i, v int) { b[i], b[i+1] = byte('0'+v/10), byte('0'+v%10) }
	two(0, d)
	b[2] = '/'
	copy(b[3:6], months[3*(mo-1):])
	b[6] = '/'
	two(7, y/100)
	two(9, y%100)
	b[11] = ':'
	two(12, h)
	b[14] = ':'
	two(15, mi)
	b[17] = ':'
	two(18, sec)
	copy(b[20:], " +0000")
	return string(b[:])
}

const months = "JanFebMarAprMayJunJulAugSepOctNovDec"

// Millis is an epoch time in milliseconds, as AWS writes connectedAt and requestTimeEpoch.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// StampRequest fills the per-request fields of rc: a fresh request id (also the extended id, as
// in every real capture) and the request time.
func (rc *RequestContext) StampRequest(now time.Time) {
	id := NewID()
	rc.RequestID = id
	rc.ExtendedRequestID = id
	rc.RequestTime = FormatRequestTime(now)
	rc.RequestTimeEpoch = Millis(now)
	rc.MessageDirection = "IN"
}

// SetDisconnect records the close code and reason on a DISCONNECT context.
func (rc *RequestContext) SetDisconnect(code int, reason string) {
	rc.DisconnectStatusCode = &code
	rc.DisconnectReason = &reason
}

// ContextVars returns the $context variables of rc as strings, the way mapping templates and
// request parameters (context.X) see them: authorizer values are stringified.
func (rc *RequestContext) ContextVars() map[string]string {
	m := map[string]string{
		"routeKey":           rc.RouteKey,
		"eventType":          rc.EventType,
		"extendedRequestId":  rc.ExtendedRequestID,
		"requestId":          rc.RequestID,
		"requestTime":        rc.RequestTime,
		"requestTimeEpoch":   strconv.FormatInt(rc.RequestTimeEpoch, 10),
		"messageDirection":   rc.MessageDirection,
		"stage":              rc.Stage,
		"connectedAt":        strconv.FormatInt(rc.ConnectedAt, 10),
		"domainName":         rc.DomainName,
		"connectionId":       rc.ConnectionID,
		"apiId":              rc.APIID,
		"identity.sourceIp":  rc.Identity.SourceIP,
		"identity.userAgent": rc.Identity.UserAgent,
	}
	if rc.MessageID != "" {
		m["messageId"] = rc.MessageID
	}
	if rc.UserID != "" {
		m["userId"] = rc.UserID
	}
	for k, v := range rc.Authorizer {
		m["authorizer."+k] = Stringify(v)
	}
	return m
}

// Stringify renders an authorizer context value the way API Gateway does in $context: 1 -> "1",
// true -> "true".
func Stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		b, err := marshalAny(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
}
