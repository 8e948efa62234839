package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"

	"github.com/wsgate/wsgate/internal/awsservice"
	"github.com/wsgate/wsgate/internal/cfn"
	"github.com/wsgate/wsgate/internal/testutil/harness"
)

// exampleDir is examples/dynamodb-connections, whose package.json pins dynalite.
const exampleDir = "../../examples/dynamodb-connections"

// startDynalite runs dynalite (npm, a real local DynamoDB built on LevelDB) with node on a free
// loopback port until the test ends, and returns its URL. It skips only when node is absent.
func startDynalite(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: this test runs dynalite (npm) as the local DynamoDB; install Node.js 20+ and run npm ci in examples/dynamodb-connections (.ci/run does both)")
	}
	cli := filepath.Join(exampleDir, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("dynalite is not installed: run npm ci in examples/dynamodb-connections (.ci/run does): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	out := &harness.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dynalite output:\n%s", out)
		}
	})
	harness.EventuallyWithin(t, 30*time.Second, "dynalite to listen on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "http://" + addr
}

// ddbClient is the AWS SDK's DynamoDB client on endpoint.
func ddbClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(endpoint), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local", ""),
	})
}

// awsTestEnv gives the process test credentials and no shared config, so the SDK's default
// chain answers at once (no instance metadata look-up) and no developer setting leaks in.
func awsTestEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"} {
		t.Setenv(k, "")
	}
}

// The examples/dynamodb-connections app against dynalite: serve creates the table, $connect
// stores the connection (id, path, headers, query string, 24 h TTL) with a DynamoDB PutItem
// integration, $default reaches the function, $disconnect deletes the item.
func TestExampleDynamoDBConnections(t *testing.T) {
	endpoint := startDynalite(t)
	awsTestEnv(t)
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the example's $default function is Python, run by wsgate")
	}
	// No --function: wsgate runs src/default.py itself, with the DynamoDB endpoint in its
	// environment.
	s := startServe(t, "--template", filepath.Join(exampleDir, "template.yaml"),
		"--aws-endpoint-url", "dynamodb="+endpoint)
	// The unnamed table's name, as `wsgate import` reports it.
	const table = "wsgate-ConnectionsTable-KLQZHWC2VM6Q8"
	if !strings.Contains(s.stderr.String(), "created DynamoDB table on the local endpoint") {
		t.Fatalf("serve did not say it created the table:\n%s", s.stderr)
	}

	before := time.Now().Unix()
	c := dialWS(t, "ws://"+s.addr+"/api/rooms/42?user=ann&lang=en", http.Header{"X-Custom": {`a "quoted" value`}})
	sendWS(t, c, `{"action":"hello"}`)
	var echo struct{ ConnectionID, RouteKey, Echo, TableEndpoint string }
	decodeJSON(t, []byte(readWS(t, c)), &echo)
	if echo.ConnectionID == "" || echo.RouteKey != "$default" || echo.Echo != `{"action":"hello"}` || echo.TableEndpoint != endpoint {
		t.Fatalf("$default answered %+v; want the connection, the frame and the DynamoDB endpoint %s", echo, endpoint)
	}

	db := ddbClient(endpoint)
	ctx := context.Background()
	key := map[string]ddbtypes.AttributeValue{"connectionId": &ddbtypes.AttributeValueMemberS{Value: echo.ConnectionID}}
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem from dynalite: %v\n%s", err, s.stderr)
	}
	item := got.Item
	if item == nil {
		t.Fatalf("no item for connection %s in %s\n%s", echo.ConnectionID, table, s.stderr)
	}
	str := func(av ddbtypes.AttributeValue) string {
		switch v := av.(type) {
		case *ddbtypes.AttributeValueMemberS:
			return v.Value
		case *ddbtypes.AttributeValueMemberN:
			return v.Value
		}
		return fmt.Sprintf("%T", av)
	}
	if p := str(item["path"]); p != "/rooms/42" {
		t.Errorf("path %q, want /rooms/42", p)
	}
	q, _ := item["querystring"].(*ddbtypes.AttributeValueMemberM)
	if q == nil || str(q.Value["user"]) != "ann" || str(q.Value["lang"]) != "en" {
		t.Errorf("querystring %#v", item["querystring"])
	}
	h, _ := item["headers"].(*ddbtypes.AttributeValueMemberM)
	if h == nil || str(h.Value["X-Custom"]) != `a "quoted" value` {
		t.Errorf("headers %#v", item["headers"])
	}
	exp, err := strconv.ParseInt(str(item["expiresAt"]), 10, 64)
	if err != nil || exp < before+86400 || exp > time.Now().Unix()+86400 {
		t.Errorf("expiresAt %q, want now + 24h in seconds", str(item["expiresAt"]))
	}

	closeWS(t, c)
	harness.Eventually(t, "$disconnect to delete the item", func() bool {
		got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return got.Item == nil
	})
}

// A DynamoDB emulator that is down: $connect is refused as any failed integration, and the log
// names the endpoint.
func TestAWSIntegrationEmulatorDown(t *testing.T) {
	awsTestEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	s := startServe(t, "--template", filepath.Join(exampleDir, "template.yaml"),
		"--aws-endpoint-url", "dynamodb="+down, "--function", "DefaultFunction=http://127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+s.addr+"/api", nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("$connect was accepted with the table's endpoint down")
	}
	if resp == nil || resp.StatusCode != http.StatusBadGateway {
		t.Errorf("handshake answer %v, want 502 (a failed integration): %v", resp, err)
	}
	for _, want := range []string{"dynamodb:PutItem at " + down, "is the emulator running?", "cannot create a table of the template"} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, s.stderr)
		}
	}
}

// Integrations that call real AWS with no AWS credentials anywhere: one clear line at start
// (not one per call), and each call fails as a failed integration without going to AWS.
func TestAWSIntegrationNoCredentials(t *testing.T) {
	awsTestEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	s := startServe(t, "--template", filepath.Join(exampleDir, "template.yaml"), "--function", "DefaultFunction=http://127.0.0.1:1")
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, resp, err := websocket.Dial(ctx, "ws://"+s.addr+"/api", nil)
		cancel()
		if err == nil {
			c.CloseNow()
			t.Fatal("$connect was accepted with no credentials for DynamoDB on AWS")
		}
		if resp == nil || resp.StatusCode != http.StatusBadGateway {
			t.Errorf("handshake answer %v, want 502: %v", resp, err)
		}
	}
	const line = "AWS service integrations call real AWS but wsgate has no AWS credentials"
	harness.Eventually(t, "the start-up line about the missing credentials", func() bool { return strings.Contains(s.stderr.String(), line) })
	logs := s.stderr.String()
	if n := strings.Count(logs, line); n != 1 {
		t.Errorf("%d lines about the missing credentials, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, `"integrations":"ConnectIntegration,DisconnectIntegration"`) || !strings.Contains(logs, "no AWS credentials: wsgate found none") {
		t.Errorf("the log does not name the integrations and the cause:\n%s", logs)
	}
	if strings.Contains(logs, "created DynamoDB table") {
		t.Errorf("a table was created on AWS's endpoint:\n%s", logs)
	}
}

// serve --template's resource creation against dynalite: key schema, attribute definitions,
// billing mode, throughput and secondary indexes as the template says; an existing table is
// left alone; nothing is created for a service called on AWS.
func TestCreateResourcesOnDynalite(t *testing.T) {
	endpoint := startDynalite(t)
	awsTestEnv(t)
	tmpl := []byte(`Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-orders"
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: N}
        - {AttributeName: status, AttributeType: S}
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
      ProvisionedThroughput: {ReadCapacityUnits: 3, WriteCapacityUnits: 2}
      GlobalSecondaryIndexes:
        - IndexName: byStatus
          KeySchema: [{AttributeName: status, KeyType: HASH}]
          Projection: {ProjectionType: KEYS_ONLY}
          ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
  Sessions:
    Type: AWS::Serverless::SimpleTable
    Properties:
      PrimaryKey: {Name: connectionId, Type: String}
  Off:
    Type: AWS::DynamoDB::Table
    Condition: Never
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
Conditions:
  Never: !Equals [a, b]
`)
	res, err := cfn.AWSResources("t.yaml", tmpl, cfn.Options{StackName: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tables) != 2 || res.Tables[0].Name != "shop-orders" || res.Tables[1].Name != "shop-Sessions-IYCIERPA9HAC1" {
		t.Fatalf("tables %+v", res.Tables)
	}
	var logs harness.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c, err := awsservice.New(context.Background(), awsservice.Options{Endpoints: map[string]string{"dynamodb": endpoint}, Region: "us-east-1", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run finds both tables and leaves them
		if err := c.CreateResources(context.Background(), res, ""); err != nil {
			t.Fatalf("CreateResources: %v\n%s", err, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "created DynamoDB table"); n != 2 {
		t.Errorf("%d tables created over two runs, want 2:\n%s", n, logs.String())
	}
	db := ddbClient(endpoint)
	out, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("shop-orders")})
	if err != nil {
		t.Fatal(err)
	}
	td := out.Table
	if len(td.KeySchema) != 2 || *td.KeySchema[1].AttributeName != "sk" || td.KeySchema[1].KeyType != ddbtypes.KeyTypeRange ||
		*td.ProvisionedThroughput.ReadCapacityUnits != 3 || *td.ProvisionedThroughput.WriteCapacityUnits != 2 ||
		len(td.GlobalSecondaryIndexes) != 1 || *td.GlobalSecondaryIndexes[0].IndexName != "byStatus" ||
		td.GlobalSecondaryIndexes[0].Projection.ProjectionType != ddbtypes.ProjectionTypeKeysOnly {
		t.Errorf("table as created: %+v", td)
	}
	out, err = db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("shop-Sessions-IYCIERPA9HAC1")})
	if err != nil {
		t.Fatal(err)
	}
	if bm := out.Table.BillingModeSummary; bm == nil || bm.BillingMode != ddbtypes.BillingModePayPerRequest || *out.Table.KeySchema[0].AttributeName != "connectionId" {
		t.Errorf("SimpleTable as created: billing %+v keys %+v", out.Table.BillingModeSummary, out.Table.KeySchema)
	}

	// Pointed at AWS: nothing is created, and one line says so.
	var awsLogs harness.Buffer
	onAWS, err := awsservice.New(context.Background(), awsservice.Options{Region: "us-east-1", Logger: slog.New(slog.NewTextHandler(&awsLogs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := onAWS.CreateResources(context.Background(), res, ""); err != nil || !strings.Contains(awsLogs.String(), "DynamoDB is called on AWS: the template's tables are not created") {
		t.Errorf("on AWS: err %v, log:\n%s", err, awsLogs.String())
	}
}

// claimTemplate's "claim" route puts an item only if it is not there yet: DynamoDB's answer
// goes through the integration responses by status, as on AWS.
const claimTemplate = `Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: claims, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: dev}
  ClaimRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: claim, RouteResponseSelectionExpression: $default, Target: !Sub "integrations/${Claim}"}
  Claim:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS
      IntegrationMethod: POST
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:dynamodb:action/PutItem
      TemplateSelectionExpression: \$default
      RequestTemplates:
        $default: !Sub >-
          {"TableName": "${Seats}", "ConditionExpression": "attribute_not_exists(seat)",
           "Item": {"seat": {"S": "$input.path('$.seat')"}, "by": {"S": "$context.connectionId"}}}
  ClaimOK:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Api
      IntegrationId: !Ref Claim
      IntegrationResponseKey: /2\d\d/
      ResponseTemplates: {$default: '{"claimed": true}'}
  ClaimTaken:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Api
      IntegrationId: !Ref Claim
      IntegrationResponseKey: /4\d\d/
      ResponseTemplates:
        $default: '{"claimed": false, "error": "$input.path(''$.__type'').split(''#'')[1]"}'
  Seats:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: seats
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: seat, AttributeType: S}]
      KeySchema: [{AttributeName: seat, KeyType: HASH}]
`

// A service error from a real DynamoDB (dynalite): ConditionalCheckFailedException is a 400
// that the /4\d\d/ integration response maps, and the socket stays open.
func TestAWSIntegrationServiceErrorFromDynalite(t *testing.T) {
	endpoint := startDynalite(t)
	awsTestEnv(t)
	tmpl := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(tmpl, []byte(claimTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--template", tmpl, "--aws-endpoint-url", "dynamodb="+endpoint)
	c := dialWS(t, "ws://"+s.addr+"/dev", nil)
	sendWS(t, c, `{"action":"claim","seat":"12A"}`)
	if got := readWS(t, c); got != `{"claimed": true}` {
		t.Fatalf("first claim: %q\n%s", got, s.stderr)
	}
	sendWS(t, c, `{"action":"claim","seat":"12A"}`)
	if got := readWS(t, c); got != `{"claimed": false, "error": "ConditionalCheckFailedException"}` {
		t.Fatalf("second claim: %q\n%s", got, s.stderr)
	}
	sendWS(t, c, `{"action":"claim","seat":"12B"}`)
	if got := readWS(t, c); got != `{"claimed": true}` {
		t.Fatalf("the socket did not carry on after the service error: %q", got)
	}
}
