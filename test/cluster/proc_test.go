package clustertest

import (
	"fmt"

	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// wsURL and base are the WebSocket URL (with query q) and the management base URL of g's stage.
func wsURL(g *harness.Process, q string) string { return "ws://" + g.Addr + "/dev" + q }
func base(g *harness.Process) string            { return "http://" + g.Addr + "/dev" }

// nodeConfig is one node's config: a shared Redis (prefix isolates the test), a short lease,
// SigV4 management credentials, a JWT authorizer giving each connection a user, and a Lambda
// (Invoke API) backend that records $disconnect and answers "id" with the connection id.
func nodeConfig(redisURL, prefix, node, lambdaURL string) string {
	store := fmt.Sprintf("{ type: redis, url: %q, prefix: %q, nodeLeaseTtl: 2s, nodeId: %q }", redisURL, prefix, node)
	return configYAML(store, "debug", lambdaURL)
}

// configYAML is the API every test node serves, with the given store block and log level.
func configYAML(store, level, lambdaURL string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
stage: dev
log: { level: %s, format: json }
shutdown: { gracePeriod: 10s }
store: %s
management:
  credentials: [ { accessKeyId: %q, secretAccessKey: %q } ]
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.token, secret: %q, userIdClaim: sub }
routes:
  $connect: { integration: fn, authorizer: jwt }
  $disconnect: { integration: fn }
  $default: { integration: fn, routeResponse: true }
integrations:
  fn: { type: AWS_PROXY, uri: cluster-fn, endpoint: %q }
`, level, store, accessKey, secretKey, jwtSecret, lambdaURL)
}
