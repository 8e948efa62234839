package observe

import "time"

// Log vocabulary: the attribute keys every wsgate log line uses, so that one search finds a
// connection or a request across the access log, errors and warnings. Where API Gateway's
// access logs have a $context variable for the value, the key is its name
// ("Configure logging for WebSocket APIs in API Gateway", API Gateway Developer Guide), and
// durations are in milliseconds as AWS logs them; a key for a duration says its unit
// otherwise.
const (
	KeyRequestID         = "requestId"
	KeyConnectionID      = "connectionId"
	KeyRouteKey          = "routeKey"
	KeyEventType         = "eventType"
	KeyStatus            = "status"
	KeyStage             = "stage"
	KeySourceIP          = "sourceIp" // $context.identity.sourceIp
	KeyUserAgent         = "userAgent"
	KeyUserID            = "userId"
	KeyPath              = "path"
	KeyError             = "error"
	KeyErrorType         = "errorType"
	KeyReason            = "reason"
	KeyOperation         = "operation" // a management API operation: PostToConnection, GetUser, ...
	KeyAccessKeyID       = "accessKeyId"
	KeyIntegrationStatus = "integrationStatus" // $context.integrationStatus
	// Latencies in milliseconds (float), as $context.integrationLatency and friends.
	KeyIntegrationLatency = "integrationLatency"
	KeyAuthorizerLatency  = "authorizerLatency" // $context.authorizer.latency
	KeyResponseLatency    = "responseLatency"   // the whole request or handshake
	KeyDisconnectStatus   = "disconnectStatusCode"
	KeyDisconnectReason   = "disconnectReason"
	KeyNode               = "node"
)

// Millis is d in milliseconds with microsecond precision, the unit of every latency logged.
func Millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
