package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// Once the gateway has sent its close frame it sends nothing more (RFC 6455 §5.5.1): a ping
// the client sends before it answers the close gets no pong.
func TestNothingAfterCloseFrame(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	c := dialFrames(t, n.WS("/dev"))
	id := fn.NthConnectionID(t, 1)
	req, _ := http.NewRequest(http.MethodDelete, "http://"+n.Addr+"/dev/@connections/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for {
		f, err := c.next()
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		if f.Header.OpCode == ws.OpClose {
			break
		}
	}
	// The client has not answered the close yet, so it may still send a ping.
	c.frame(ws.OpPing, true, []byte("still there?"))
	c.tryFrame(ws.OpClose, true, []byte{0x03, 0xe8})
	for {
		f, err := c.next()
		if err != nil {
			break // the server closed the socket: good
		}
		t.Fatalf("server sent opcode %v after its close frame", f.Header.OpCode)
	}
	fn.WaitEvent(t, "$disconnect", id)
}

// A handshake that $connect accepted but that fails to upgrade (here: no Sec-WebSocket-Key)
// still gets its $disconnect: the backend recorded the connection in $connect.
func TestUpgradeFailureAfterConnectRunsDisconnect(t *testing.T) {
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf(lifecycleAPI, fn.URL()))
	conn, err := net.Dial("tcp", n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = conn.Write([]byte("GET /dev HTTP/1.1\r\nHost: " + n.Addr + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatalf("upgrade without Sec-WebSocket-Key answered 101")
	}
	harness.Eventually(t, "one $disconnect per accepted $connect", func() bool {
		return fn.Count("$disconnect") == fn.Count("$connect")
	})
}
