package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// The credentials and JWT secret of ContractAPI.
const (
	ContractAccessKey = "AKIDCONTRACTTEST"
	ContractSecretKey = "contract/test/secret/key"
	ContractJWTSecret = "contract-test-jwt-secret-0123456789abcdef"
)

// ContractAPI is the API every node of a delivery contract run serves, without listen, log and
// store (add those): SigV4 management credentials, a JWT authorizer giving each connection the
// user in its ?token=, and a whoami route answered in process with "<connectionId> <userId>".
const ContractAPI = `stage: dev
management:
  credentials: [ { accessKeyId: ` + ContractAccessKey + `, secretAccessKey: "` + ContractSecretKey + `" } ]
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.token, secret: "` + ContractJWTSecret + `", userIdClaim: sub }
routeSelectionExpression: $request.body.action
routes:
  $connect: { authorizer: jwt }
  whoami: { integration: whoami, routeResponse: true }
integrations:
  whoami: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: '$context.connectionId $context.userId' } } } }
`

// RunDeliveryContract checks the management API's delivery contract on the nodes start returns
// (host:port of each, all serving ContractAPI and sharing one store): PostToConnection,
// GetConnection and DeleteConnection (through the AWS SDK), 410 for unknown ids, users, groups,
// broadcast, a batch (POST @batch: entries to connections, users and groups with a result per
// entry), the order of pushes made through different nodes, and DeleteUser. Sockets and
// calls are spread so that, with two nodes or more, calls are made on a node that does not hold
// the socket. One node (the memory store) must behave exactly as many.
func RunDeliveryContract(t *testing.T, start func(t *testing.T) []string) {
	addrs := start(t)
	if len(addrs) == 0 {
		t.Fatal("RunDeliveryContract: no nodes")
	}
	nodes := make([]*contractNode, len(addrs))
	for i, a := range addrs {
		nodes[i] = &contractNode{addr: a}
	}
	first, mid, last := nodes[0], nodes[len(nodes)/2], nodes[len(nodes)-1]
	for _, c := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"connection", func(t *testing.T) {
			c := first.connect(t, "ann")
			api := last.sdk()
			ctx := callCtx(t)
			if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
				ConnectionId: aws.String(c.id), Data: []byte("one"),
			}); err != nil {
				t.Fatalf("PostToConnection: %v", err)
			}
			c.expect(t, "one")
			out, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(c.id)})
			if err != nil || out.ConnectedAt == nil || out.Identity == nil || aws.ToString(out.Identity.SourceIp) != "127.0.0.1" {
				t.Fatalf("GetConnection = %+v, %v", out, err)
			}
			var info map[string]any
			if st, body := last.call(t, "GET", "/@connections/"+esc(c.id), ""); st != 200 ||
				json.Unmarshal([]byte(body), &info) != nil || info["userId"] != "ann" {
				t.Fatalf("GET @connections (userId extension) = %d %s", st, body)
			}
			if _, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(c.id)}); err != nil {
				t.Fatalf("DeleteConnection: %v", err)
			}
			if code := c.closeCode(t); code != websocket.StatusNormalClosure {
				t.Fatalf("deleted connection closed with %d, want 1000", code)
			}
			Eventually(t, "GoneException after delete", func() bool {
				_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
					ConnectionId: aws.String(c.id), Data: []byte("x"),
				})
				return isGone(err)
			})
		}},
		{"unknown id is gone on every node", func(t *testing.T) {
			for _, n := range nodes {
				for _, m := range []string{"POST", "GET", "DELETE"} {
					if st, _ := n.call(t, m, "/@connections/AAAAAAAAAAAAAAA%3D", "x"); st != 410 {
						t.Errorf("%s unknown id on %s = %d, want 410", m, n.addr, st)
					}
				}
				if st, _ := n.call(t, "POST", "/@users/nobody", "x"); st != 410 {
					t.Errorf("POST to an offline user on %s = %d, want 410", n.addr, st)
				}
			}
		}},
		{"user", func(t *testing.T) {
			cs := []*contractClient{first.connect(t, "bob"), last.connect(t, "bob")}
			if r := mid.callJSON(t, "GET", "/@users/bob", ""); r["online"] != true || r["connections"] != float64(2) {
				t.Fatalf("presence of bob = %v, want online with 2 connections", r)
			}
			if r := mid.callJSON(t, "POST", "/@users/bob", "hi bob"); r["delivered"] != float64(2) {
				t.Fatalf("POST @users/bob = %v, want delivered 2", r)
			}
			for _, c := range cs {
				c.expect(t, "hi bob")
			}
		}},
		{"group", func(t *testing.T) {
			member := first.connect(t, "u1")
			other := last.connect(t, "u2") // not a member
			mid.callJSON(t, "PUT", "/@connections/"+esc(member.id)+"/groups/room", "")
			if m := first.callJSON(t, "GET", "/@groups/room", ""); len(m["connections"].([]any)) != 1 {
				t.Fatalf("GET @groups/room = %v, want 1 member", m)
			}
			if r := last.callJSON(t, "POST", "/@groups/room", "hi room"); r["delivered"] != float64(1) {
				t.Fatalf("POST @groups/room = %v, want delivered 1", r)
			}
			member.expect(t, "hi room")
			mid.callJSON(t, "DELETE", "/@connections/"+esc(member.id)+"/groups/room", "")
			if r := first.callJSON(t, "POST", "/@groups/room", "nobody"); r["delivered"] != float64(0) {
				t.Fatalf("POST to an emptied group = %v", r)
			}
			other.expectNothing(t)
		}},
		{"broadcast", func(t *testing.T) {
			var cs []*contractClient
			for i, n := range nodes {
				cs = append(cs, n.connect(t, fmt.Sprint("b", i)))
			}
			cs = append(cs, first.connect(t, "b-extra"))
			if r := last.callJSON(t, "POST", "/@broadcast", "all"); r["delivered"] != float64(len(cs)) {
				t.Fatalf("POST @broadcast = %v, want delivered %d", r, len(cs))
			}
			for _, c := range cs {
				c.expect(t, "all")
			}
		}},
		{"order across nodes", func(t *testing.T) {
			c := first.connect(t, "o")
			const n = 90
			for i := range n {
				if st, body := nodes[i%len(nodes)].call(t, "POST", "/@connections/"+esc(c.id), fmt.Sprint(i)); st != 200 {
					t.Fatalf("push %d = %d %s", i, st, body)
				}
			}
			for i := range n {
				c.expect(t, fmt.Sprint(i))
			}
		}},
		{"batch", func(t *testing.T) {
			a, b := first.connect(t, "ba"), last.connect(t, "bb")
			room := mid.connect(t, "bc")
			mid.callJSON(t, "PUT", "/@connections/"+esc(room.id)+"/groups/broom", "")
			batch, _ := json.Marshal(map[string]any{"entries": []map[string]any{
				{"id": "a1", "connectionId": a.id, "data": "to a"},
				{"id": "user", "userId": "bb", "data": map[string]int{"k": 1}},
				{"id": "room", "group": "broom", "data": "to the room"},
				{"id": "gone", "connectionId": "AAAAAAAAAAAAAAA=", "data": "x"},
				{"id": "offline", "userId": "nobody", "data": "x"},
				{"id": "bad-name", "userId": "has space", "data": "x"},
				{"id": "two", "connectionId": a.id, "userId": "bb", "data": "x"},
				{"id": "a2", "connectionId": a.id, "data": "second to a"},
			}})
			var out struct {
				Successful []struct {
					ID        string
					Delivered int
				}
				Failed []struct {
					ID, Code, Message string
					SenderFault       bool
				}
			}
			st, body := last.call(t, "POST", "/@batch", string(batch))
			if st != 200 || json.Unmarshal([]byte(body), &out) != nil {
				t.Fatalf("POST @batch = %d %s", st, body)
			}
			var ok, failed []string
			for _, s := range out.Successful {
				ok = append(ok, fmt.Sprintf("%s:%d", s.ID, s.Delivered))
			}
			for _, f := range out.Failed {
				failed = append(failed, fmt.Sprintf("%s:%s:%v", f.ID, f.Code, f.SenderFault))
				if f.Message == "" {
					t.Errorf("failed entry %s has no message", f.ID)
				}
			}
			if got, want := strings.Join(ok, " "), "a1:1 user:1 room:1 a2:1"; got != want {
				t.Errorf("successful %s, want %s (body %s)", got, want, body)
			}
			if got, want := strings.Join(failed, " "), "gone:GoneException:true offline:GoneException:true "+
				"bad-name:BadRequestException:true two:BadRequestException:true"; got != want {
				t.Errorf("failed %s, want %s (body %s)", got, want, body)
			}
			a.expect(t, "to a")
			a.expect(t, "second to a")
			b.expect(t, `{"k":1}`)
			room.expect(t, "to the room")
			if st, body := first.call(t, "POST", "/@batch", `{"entries":[{"id":"x","connectionId":"`+a.id+`","data":"1"},{"id":"x","connectionId":"`+a.id+`","data":"2"}]}`); st != 400 || !strings.Contains(body, "distinct") {
				t.Errorf("POST @batch with a repeated id = %d %s, want 400 naming distinct ids", st, body)
			}
			a.expectNothing(t)
		}},
		{"delete user", func(t *testing.T) {
			cs := []*contractClient{first.connect(t, "dan"), last.connect(t, "dan")}
			if r := mid.callJSON(t, "DELETE", "/@users/dan", ""); r["disconnected"] != float64(2) {
				t.Fatalf("DELETE @users/dan = %v, want disconnected 2", r)
			}
			for _, c := range cs {
				if code := c.closeCode(t); code != websocket.StatusNormalClosure {
					t.Fatalf("dan's connection closed with %d, want 1000", code)
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Registered first, so it runs after the sockets' own cleanups: the next case counts
			// deliveries and must not see this case's sockets, whose $disconnect and
			// unregistering run after the client has gone.
			t.Cleanup(func() {
				Eventually(t, "the case's connections to be unregistered", func() bool {
					var out struct{ Users []any }
					st, body := last.call(t, "GET", "/@users", "")
					return st == 200 && json.Unmarshal([]byte(body), &out) == nil && len(out.Users) == 0
				})
			})
			c.run(t)
		})
	}
}

type contractNode struct{ addr string }

// connect opens a socket as user and learns its connection id through the whoami route.
func (n *contractNode) connect(t *testing.T, user string) *contractClient {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(ContractJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+n.addr+"/dev?token="+tok, nil)
	if err != nil {
		t.Fatalf("dial %s as %s: %v", n.addr, user, err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &contractClient{ws: ws}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"action":"whoami"}`)); err != nil {
		t.Fatal(err)
	}
	got := c.read(t)
	id, uid, _ := strings.Cut(got, " ")
	if uid != user || id == "" {
		t.Fatalf("whoami on %s as %s answered %q", n.addr, user, got)
	}
	c.id = id
	return c
}

func (n *contractNode) sdk() *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint:     aws.String("http://" + n.addr + "/dev"),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(ContractAccessKey, ContractSecretKey, ""),
		RetryMaxAttempts: 1,
	})
}

// call sends a request signed with the SDK's SigV4 signer to /dev+path and returns the status
// and body.
func (n *contractNode) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	return SignedCall(t, callCtx(t), method, "http://"+n.addr+"/dev"+path, []byte(body), ContractAccessKey, ContractSecretKey)
}

// SignedCall sends body to url signed for execute-api in us-east-1 with the AWS SDK's own SigV4
// signer and the given key pair, as a backend's SDK would, and returns the status and body. A
// request that cannot be sent fails t.
func SignedCall(t testing.TB, ctx context.Context, method, url string, body []byte, accessKey, secretKey string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// callJSON is call with a 2xx check and the body decoded.
func (n *contractNode) callJSON(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	st, out := n.call(t, method, path, body)
	if st/100 != 2 {
		t.Fatalf("%s %s on %s = %d %s", method, path, n.addr, st, out)
	}
	m := map[string]any{}
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, out, err)
		}
	}
	return m
}

type contractClient struct {
	ws *websocket.Conn
	id string
}

func (c *contractClient) read(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		t.Fatalf("read on %s: %v", c.id, err)
	}
	return string(b)
}

func (c *contractClient) expect(t *testing.T, want string) {
	t.Helper()
	if got := c.read(t); got != want {
		t.Fatalf("connection %s got %q, want %q", c.id, got, want)
	}
}

// expectNothing checks that no frame is waiting: it asks for the connection's id again and
// must get that answer first (the gateway answers in order), not a stray push.
func (c *contractClient) expectNothing(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(`{"action":"whoami"}`)); err != nil {
		t.Fatal(err)
	}
	if got := c.read(t); !strings.HasPrefix(got, c.id+" ") {
		t.Fatalf("connection %s got %q, which was not for it", c.id, got)
	}
}

// closeCode reads until the server closes the socket and returns the close code.
func (c *contractClient) closeCode(t *testing.T) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("connection %s: expected a close frame, got %v", c.id, err)
	}
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func isGone(err error) bool {
	var g *types.GoneException
	return errors.As(err, &g)
}

// esc escapes the "=" of a connection id for a path, as the SDKs do.
func esc(id string) string { return strings.ReplaceAll(id, "=", "%3D") }
