package cli

// End to end: the tutorial template served by `wsgate serve --template`, its functions real
// Go Lambda handlers written with github.com/aws/aws-lambda-go, over real sockets.
//
// Which Lambda-Invoke-compatible endpoint: the AWS Lambda Runtime Interface Emulator was tried
// first and does not build here: its Go module (github.com/aws/aws-lambda-runtime-interface-
// emulator, whose go.mod names itself go.amzn.com) is refused by the Go module proxy ("403
// Forbidden: This module version is not available" for every version, @latest and pseudo-
// versions alike). So the handlers run in their own invoke server: invokeAPI (helpers_test.go)
// serves the Lambda Invoke API and calls lambda.NewHandler(fn).Invoke, the function aws-lambda-go's
// lambda.Start runs for every event. wsgate's side is the same either way: the Invoke API over
// HTTP at the --function URL.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// echoHandler is the tutorial's echo function, as a Go user writes it: it answers through the
// route response and also posts to the connection through the @connections API of the
// endpoint the event names (https://{domainName}/{stage} on AWS; plain http on a local wsgate).
func echoHandler(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	var msg struct {
		Action string `json:"action"`
		Data   string `json:"data"`
	}
	if err := json.Unmarshal([]byte(req.Body), &msg); err != nil {
		return events.APIGatewayProxyResponse{StatusCode: 400, Body: "bad json"}, nil
	}
	rc := req.RequestContext
	if rc.RouteKey != "echo" {
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: "default route got " + msg.Action}, nil
	}
	api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint:     aws.String("http://" + rc.DomainName + "/" + rc.Stage),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
	if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(rc.ConnectionID),
		Data:         []byte("posted:" + msg.Data),
	}); err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("post to %s: %w", rc.ConnectionID, err)
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: "echo:" + msg.Data}, nil
}

func TestServeTemplateTutorialWithGoLambdas(t *testing.T) {
	connected := make(chan events.APIGatewayWebsocketProxyRequest, 1)
	disconnected := make(chan events.APIGatewayWebsocketProxyRequest, 1)
	fnURL := invokeAPI(t, map[string]any{
		"ConnectFunction": func(req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			connected <- req
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		},
		"EchoFunction": echoHandler,
		"wsgate-disconnect": func(req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			disconnected <- req
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		},
	})
	// ConnectFunction and EchoFunction by logical id, the disconnect function by its FunctionName
	// (!Sub ${AWS::StackName}-disconnect); the stage comes from a --parameter.
	s := startServe(t, "--template", filepath.Join(templates, "tutorial", "template.yaml"),
		"--function", "ConnectFunction="+fnURL, "--function", "EchoFunction="+fnURL,
		"--function", "wsgate-disconnect="+fnURL, "--parameter", "StageName=test")

	c := dialWS(t, "ws://"+s.addr+"/test", nil)
	conn := recv(t, connected, "the $connect invocation")
	id := conn.RequestContext.ConnectionID
	if conn.RequestContext.RouteKey != "$connect" || conn.RequestContext.EventType != "CONNECT" || id == "" ||
		conn.RequestContext.Stage != "test" || conn.RequestContext.APIID != "EchoApi" {
		t.Fatalf("$connect event: %+v", conn.RequestContext)
	}

	sendWS(t, c, `{"action":"echo","data":"hi"}`)
	got := []string{readWS(t, c), readWS(t, c)}
	slices.Sort(got)
	if want := []string{"echo:hi", "posted:hi"}; !slices.Equal(got, want) {
		t.Fatalf("client got %q, want the route response and the @connections post %q", got, want)
	}

	// Anything else goes to $default, which the same function serves.
	sendWS(t, c, `{"action":"shout","data":"x"}`)
	if got := readWS(t, c); got != "default route got shout" {
		t.Fatalf("$default answered %q", got)
	}

	closeWS(t, c)
	disc := recv(t, disconnected, "the $disconnect invocation")
	if disc.RequestContext.ConnectionID != id || disc.RequestContext.EventType != "DISCONNECT" {
		t.Fatalf("$disconnect event: %+v, want connection %s", disc.RequestContext, id)
	}
}

// A handler error reaches the client as API Gateway's internal-error message, and the
// connection stays open.
func TestServeTemplateLambdaError(t *testing.T) {
	fnURL := invokeAPI(t, map[string]any{
		"ConnectFunction": func() (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		},
		"EchoFunction": func() (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{}, fmt.Errorf("boom")
		},
		"wsgate-disconnect": func() error { return nil },
	})
	s := startServe(t, "--template", filepath.Join(templates, "tutorial", "template.yaml"),
		"--function", "ConnectFunction="+fnURL, "--function", "EchoFunction="+fnURL,
		"--function", "wsgate-disconnect="+fnURL)
	c := dialWS(t, "ws://"+s.addr+"/production", nil)
	for range 2 { // the connection stays open after an error
		sendWS(t, c, `{"action":"echo","data":"hi"}`)
		got := readWS(t, c)
		var body struct{ ConnectionID, RequestID string }
		if err := json.Unmarshal([]byte(got), &body); err != nil || body.ConnectionID == "" || body.RequestID == "" {
			t.Fatalf("client got %q (%v)", got, err)
		}
		want := `{"message": "Internal server error", "connectionId":"` + body.ConnectionID + `", "requestId":"` + body.RequestID + `"}`
		if got != want {
			t.Fatalf("client got %q, want API Gateway's error frame %q", got, want)
		}
	}
}
