package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/dashboard"
	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
	"github.com/wsgate/wsgate/internal/testutil/testredis"
)

// With the Redis store, the page of one node sees the other node's connections, users and group
// sizes, finds a connection held by the other node and disconnects it there.
func TestPageAcrossNodesThroughRedis(t *testing.T) {
	r := testredis.Start(t)
	yaml := fmt.Sprintf(`stage: dev
store: { type: redis, url: %q, prefix: dash, nodeLeaseTtl: 5s }
routeSelectionExpression: $request.body.action
routes:
  $connect: { authorizer: jwt }
  whoami: { integration: whoami, routeResponse: true }
authorizers:
  jwt: { type: JWT, identitySource: route.request.querystring.token, secret: %s }
integrations:
  whoami: { type: MOCK, requestTemplates: { $default: '{"statusCode": 200}' }, responses: { $default: { templates: { $default: '$context.connectionId' } } } }
`, r.URL(), jwtSecret)
	a, b := servertest.Start(t, yaml).Server, servertest.Start(t, yaml).Server
	carol := connect(t, a.Addr(), "carol")
	dave1, dave2 := connect(t, b.Addr(), "dave"), connect(t, b.Addr(), "dave")
	for _, c := range []client{carol, dave1, dave2} {
		req, _ := http.NewRequest(http.MethodPut, "http://"+a.Addr()+"/dev/@connections/"+url.PathEscape(c.id)+"/groups/ops", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("join ops: %v %v", resp, err)
		}
		resp.Body.Close()
	}

	// The first stats event of node a's stream with both nodes in it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.Addr()+dashboard.Prefix+"api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, ct)
	}
	var st dashboard.Stats
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
			continue
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok && event == "stats" {
			if err := json.Unmarshal([]byte(d), &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Cluster.Nodes) == 2 && st.Cluster.UsersOnline == 2 && len(st.Cluster.Groups) == 1 {
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v (last stats %+v)", err, st)
	}
	counts := map[string]int{}
	for _, n := range st.Cluster.Nodes {
		counts[n.Node] = n.Connections
	}
	if counts[a.Hub().Node()] != 1 || counts[b.Hub().Node()] != 2 || st.Local != 1 {
		t.Errorf("nodes %+v, local %d; want 1 on a, 2 on b", st.Cluster.Nodes, st.Local)
	}
	if u := st.Cluster.Users; len(u) != 2 || u[0].UserID != "dave" || u[0].Connections != 2 {
		t.Errorf("users %+v", u)
	}
	// Node a holds one member of ops; the size counts the two on b too.
	if g := st.Cluster.Groups; g[0].Group != "ops" || g[0].Size != 3 {
		t.Errorf("groups %+v", g)
	}

	// Look up a connection node b holds, from node a's page, and disconnect it.
	get, err := http.Get("http://" + a.Addr() + dashboard.Prefix + "api/connections/" + url.PathEscape(dave1.id))
	if err != nil {
		t.Fatal(err)
	}
	var rec dashboard.ConnRecord
	_ = json.NewDecoder(get.Body).Decode(&rec)
	get.Body.Close()
	if get.StatusCode != 200 || rec.Node != b.Hub().Node() || rec.UserID != "dave" || len(rec.Groups) != 1 || rec.Groups[0] != "ops" {
		t.Fatalf("lookup: %d %+v", get.StatusCode, rec)
	}
	post, _ := http.NewRequest(http.MethodPost, "http://"+a.Addr()+dashboard.Prefix+"api/connections/"+url.PathEscape(dave1.id)+"/disconnect", nil)
	post.Header.Set("X-Wsgate-Dashboard", "1")
	pr, err := http.DefaultClient.Do(post)
	if err != nil || pr.StatusCode != 200 {
		t.Fatalf("disconnect: %v %v", pr, err)
	}
	pr.Body.Close()
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	if _, _, err := dave1.c.Read(rctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("dave1 after the disconnect from node a's page: %v", err)
	}
	// Once the store forgot it, the search and a second disconnect find nothing.
	harness.Eventually(t, "404 for the lookup after the disconnect", func() bool {
		g, err := http.Get("http://" + a.Addr() + dashboard.Prefix + "api/connections/" + url.PathEscape(dave1.id))
		if err != nil {
			t.Fatal(err)
		}
		g.Body.Close()
		return g.StatusCode == 404
	})
	pr, err = http.DefaultClient.Do(post.Clone(context.Background()))
	if err != nil || pr.StatusCode != 404 {
		t.Fatalf("second disconnect: %v %v", pr, err)
	}
	pr.Body.Close()
}
