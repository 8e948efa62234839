package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/server/servertest"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and returns their paths and
// a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsgate test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// wss:// end to end, and the management API over https with the SDK trusting the certificate.
func TestTLSEndToEnd(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	fn := harness.NewProxyLambda(t, func(ev events.APIGatewayWebsocketProxyRequest) (int, string) {
		return 200, "secure:" + ev.Body
	})
	n := servertest.Start(t, fmt.Sprintf(`
tls: { certFile: %q, keyFile: %q }
management:
  credentials: [ { accessKeyId: %s, secretAccessKey: "%s" } ]
`, certFile, keyFile, mgmtKeyID, mgmtSecretKey)+fmt.Sprintf(lifecycleAPI, fn.URL()))
	httpc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer httpc.CloseIdleConnections()

	// The same port serves plain ws:// too (the first byte tells them apart).
	plain := dial(t, "ws://"+n.Addr+"/dev")
	send(t, plain, "in clear")
	if got := read(t, plain); got != "secure:in clear" {
		t.Fatalf("route response over ws:// on the TLS port = %q", got)
	}
	plain.Close(websocket.StatusNormalClosure, "")
	c := dial(t, "wss://"+n.Addr+"/dev/secure/room", func(o *websocket.DialOptions) { o.HTTPClient = httpc })
	send(t, c, "hello")
	if got := read(t, c); got != "secure:hello" {
		t.Fatalf("route response over wss = %q", got)
	}
	conn := connectWhere(t, fn, "over TLS", overTLS)
	if conn.Headers["X-Forwarded-Proto"] != "https" {
		t.Errorf("X-Forwarded-Proto = %q, want https on a TLS listener", conn.Headers["X-Forwarded-Proto"])
	}
	id := conn.RequestContext.ConnectionID

	mc := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String("https://" + n.Addr + "/dev"), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(mgmtKeyID, mgmtSecretKey, ""),
		HTTPClient:  httpc, RetryMaxAttempts: 1,
	})
	ctx := sdkContext(t)
	if _, err := mc.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: []byte("pushed over https"),
	}); err != nil {
		t.Fatalf("PostToConnection over https: %v", err)
	}
	if got := read(t, c); got != "pushed over https" {
		t.Fatalf("push over wss = %q", got)
	}
	out, err := mc.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil || aws.ToString(out.Identity.SourceIp) != "127.0.0.1" {
		t.Fatalf("GetConnection over https: %+v, %v", out, err)
	}
	if _, err := mc.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteConnection over https: %v", err)
	}
	if code, _ := readClose(t, c); code != websocket.StatusNormalClosure {
		t.Fatalf("close after DeleteConnection over wss = %d", code)
	}
	if ev := fn.WaitEvent(t, "$disconnect", id); ev.RequestContext.DisconnectStatusCode != 1000 {
		t.Fatalf("$disconnect over wss = %d", ev.RequestContext.DisconnectStatusCode)
	}
	_, err = mc.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	var gone *types.GoneException
	if !errors.As(err, &gone) {
		t.Fatalf("GetConnection after delete over https: %v, want GoneException", err)
	}
	// An untrusting client is refused at the TLS layer, not served in clear text.
	if _, err := http.Get("https://" + n.Addr + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted https GET: %v, want a certificate error", err)
	}
}

// Over wss:// too, a client that never reads is closed as a slow consumer: the send queue is
// bounded however the socket is served.
func TestTLSSlowConsumerIsBounded(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	fn := echoLambda(t)
	n := servertest.Start(t, fmt.Sprintf("tls: { certFile: %q, keyFile: %q }\n", certFile, keyFile)+
		fmt.Sprintf(lifecycleAPI, fn.URL())+"limits: { messageBytes: 64KB, sendQueueBytes: 64KB }\n")
	httpc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer httpc.CloseIdleConnections()
	c := dial(t, "wss://"+n.Addr+"/dev", func(o *websocket.DialOptions) { o.HTTPClient = httpc })
	_ = c // never read
	id := fn.NthConnectionID(t, 1)
	chunk := strings.Repeat("x", 60<<10)
	pushed, status := 0, 200
	for status == 200 && pushed < 2000 { // ~120 MB: far beyond any socket buffer
		resp, err := httpc.Post("https://"+n.Addr+"/dev/@connections/"+id, "text/plain", strings.NewReader(chunk))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		status = resp.StatusCode
		pushed++
	}
	if status == 200 {
		t.Fatalf("%d pushes of 60 KB to a wss client that never reads were all accepted: the send queue is unbounded", pushed)
	}
	ev := fn.WaitEvent(t, "$disconnect", id)
	if !strings.Contains(strings.ToLower(reasonOf(ev)), "slow consumer") {
		t.Errorf("$disconnect reason = %q (code %d), want it to say slow consumer", reasonOf(ev), ev.RequestContext.DisconnectStatusCode)
	}
}
