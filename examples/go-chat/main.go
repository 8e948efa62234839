// Command go-chat is a chat room as one Lambda function written with aws-lambda-go: $connect
// and $disconnect keep the set of connections, sendmessage broadcasts to all of them through
// the API Gateway Management API at https://{domainName}/{stage}, as on AWS.
//
// It keeps the connections in memory, so the template gives it ReservedConcurrentExecutions: 1
// (one runtime process sees every event). A real deployment would keep them in DynamoDB.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"sort"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
)

var (
	mu    sync.Mutex
	conns = map[string]bool{}
)

type message struct {
	Action  string `json:"action"`
	Message string `json:"message"`
}

func handle(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := req.RequestContext
	switch rc.RouteKey {
	case "$connect":
		mu.Lock()
		conns[rc.ConnectionID] = true
		mu.Unlock()
		log.Printf("joined %s", rc.ConnectionID)
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	case "$disconnect":
		mu.Lock()
		delete(conns, rc.ConnectionID)
		mu.Unlock()
		log.Printf("left %s", rc.ConnectionID)
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	var m message
	if err := json.Unmarshal([]byte(req.Body), &m); err != nil || m.Message == "" {
		return events.APIGatewayProxyResponse{StatusCode: 400, Body: `send {"action":"sendmessage","message":"..."}`}, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	api := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String("https://" + rc.DomainName + "/" + rc.Stage)
	})
	out, _ := json.Marshal(map[string]string{"from": rc.ConnectionID, "message": m.Message})
	mu.Lock()
	ids := make([]string, 0, len(conns))
	for id := range conns {
		ids = append(ids, id)
	}
	mu.Unlock()
	sort.Strings(ids)
	for _, id := range ids {
		_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: out})
		var gone *types.GoneException
		switch {
		case errors.As(err, &gone):
			mu.Lock()
			delete(conns, id)
			mu.Unlock()
		case err != nil:
			return events.APIGatewayProxyResponse{}, err
		}
	}
	log.Printf("broadcast from %s to %d connections", rc.ConnectionID, len(ids))
	return events.APIGatewayProxyResponse{StatusCode: 200}, nil
}

func main() {
	lambda.Start(handle)
}
