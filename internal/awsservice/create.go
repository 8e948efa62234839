package awsservice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Resources are the resources of a template that CreateResources makes on local emulators.
type Resources struct {
	Tables []Table
	Queues []Queue
}

// Table is an AWS::DynamoDB::Table (or AWS::Serverless::SimpleTable) as CreateTable takes it.
type Table struct {
	LogicalID, Name string
	Attributes      []Attribute // AttributeDefinitions
	KeySchema       []Key
	// BillingMode is PAY_PER_REQUEST or PROVISIONED; Read/Write are the provisioned capacity
	// units (defaults 5 when PROVISIONED and unset).
	BillingMode    string
	Read, Write    int64
	GlobalIndexes  []Index
	LocalIndexes   []Index
	StreamViewType string // "" = no stream
	TTLAttribute   string // "" = no time to live
}

// Attribute is one attribute definition: Type S, N or B.
type Attribute struct{ Name, Type string }

// Key is one key schema element: Type HASH or RANGE.
type Key struct{ Name, Type string }

// Index is a secondary index.
type Index struct {
	Name             string
	KeySchema        []Key
	ProjectionType   string // ALL, KEYS_ONLY, INCLUDE
	NonKeyAttributes []string
	Read, Write      int64
}

// Queue is an AWS::SQS::Queue: its name and the attributes CreateQueue takes (FifoQueue,
// VisibilityTimeout...), as strings.
type Queue struct {
	LogicalID, Name string
	Attributes      map[string]string
}

// createTimeout bounds the creation of all resources of one template.
const createTimeout = 60 * time.Second

// CreateResources creates, on each service endpoint that is a local emulator, the tables and
// queues of res that do not exist there yet, in region. Resources whose service is called on
// AWS are never created (one log line says so). Failures (an emulator that is down) are
// logged per resource, naming the endpoint, and returned joined; the caller decides whether
// to start anyway.
func (c *Client) CreateResources(ctx context.Context, res Resources, region string) error {
	if region == "" {
		region = c.region
	}
	ctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()
	var errs []error
	if len(res.Tables) > 0 {
		errs = append(errs, c.createTables(ctx, res.Tables, region)...)
	}
	if len(res.Queues) > 0 {
		errs = append(errs, c.createQueues(ctx, res.Queues, region)...)
	}
	return errors.Join(errs...)
}

// sdkCredentials are the credentials the SDK clients that create resources sign with: the
// default chain's, or the placeholders when it has none.
func (c *Client) sdkCredentials(ctx context.Context) aws.CredentialsProvider {
	if c.CheckCredentials(ctx) != nil || c.cfg.Credentials == nil {
		return credentials.NewStaticCredentialsProvider(PlaceholderAccessKeyID, PlaceholderAccessKeyID, "")
	}
	return c.cfg.Credentials
}

func (c *Client) createTables(ctx context.Context, tables []Table, region string) []error {
	svc := services["dynamodb"]
	ep, err := c.Resolve(ctx, svc, region)
	if err != nil {
		return []error{err}
	}
	if !ep.Local {
		c.log.Info("DynamoDB is called on AWS: the template's tables are not created (wsgate creates them on local emulators only)", "endpoint", ep.URL.Redacted())
		return nil
	}
	db := dynamodb.NewFromConfig(c.cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(ep.URL.String())
		o.Region = region
		o.Credentials = c.sdkCredentials(ctx)
		o.RetryMaxAttempts = 2
	})
	var errs []error
	for _, t := range tables {
		created, err := createTable(ctx, db, t)
		if err != nil {
			err = fmt.Errorf("create DynamoDB table %q (%s) at %s (%s): %w", t.Name, t.LogicalID, ep.URL.Redacted(), ep.Source, err)
			c.log.Error("cannot create a table of the template on the local endpoint; its integrations will fail until it exists", "table", t.Name, "endpoint", ep.URL.Redacted(), "error", err.Error())
			errs = append(errs, err)
			continue
		}
		if created {
			c.log.Info("created DynamoDB table on the local endpoint", "table", t.Name, "resource", t.LogicalID, "endpoint", ep.URL.Redacted())
		}
		if t.TTLAttribute != "" && created {
			_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(t.Name),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)}})
			if err != nil {
				// dynalite has no UpdateTimeToLive; the table works without it.
				c.log.Warn("the local endpoint did not enable time to live on the table; items will not expire", "table", t.Name, "attribute", t.TTLAttribute, "error", err.Error())
			}
		}
	}
	return errs
}

// createTable creates t unless it exists, and waits until it is ACTIVE.
func createTable(ctx context.Context, db *dynamodb.Client, t Table) (bool, error) {
	_, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
	if err == nil {
		return false, nil
	}
	var nf *ddbtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return false, err
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(t.Name), KeySchema: keys(t.KeySchema)}
	for _, a := range t.Attributes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String(a.Name), AttributeType: ddbtypes.ScalarAttributeType(a.Type)})
	}
	provisioned := t.BillingMode == "PROVISIONED" || (t.BillingMode == "" && (t.Read > 0 || t.Write > 0))
	if provisioned {
		in.BillingMode = ddbtypes.BillingModeProvisioned
		in.ProvisionedThroughput = throughput(t.Read, t.Write)
	} else {
		in.BillingMode = ddbtypes.BillingModePayPerRequest
	}
	for _, ix := range t.GlobalIndexes {
		g := ddbtypes.GlobalSecondaryIndex{IndexName: aws.String(ix.Name), KeySchema: keys(ix.KeySchema), Projection: projection(ix)}
		if provisioned {
			g.ProvisionedThroughput = throughput(ix.Read, ix.Write)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, g)
	}
	for _, ix := range t.LocalIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{IndexName: aws.String(ix.Name), KeySchema: keys(ix.KeySchema), Projection: projection(ix)})
	}
	if t.StreamViewType != "" {
		in.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(t.StreamViewType)}
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		var inUse *ddbtypes.ResourceInUseException
		if errors.As(err, &inUse) {
			return false, nil // created meanwhile (another node)
		}
		return false, err
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}, 30*time.Second); err != nil {
		return true, fmt.Errorf("created, but not ACTIVE: %w", err)
	}
	return true, nil
}

func keys(ks []Key) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, len(ks))
	for i, k := range ks {
		out[i] = ddbtypes.KeySchemaElement{AttributeName: aws.String(k.Name), KeyType: ddbtypes.KeyType(k.Type)}
	}
	return out
}

func throughput(r, w int64) *ddbtypes.ProvisionedThroughput {
	if r <= 0 {
		r = 5
	}
	if w <= 0 {
		w = 5
	}
	return &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(r), WriteCapacityUnits: aws.Int64(w)}
}

func projection(ix Index) *ddbtypes.Projection {
	p := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(ix.ProjectionType)}
	if p.ProjectionType == "" {
		p.ProjectionType = ddbtypes.ProjectionTypeAll
	}
	if len(ix.NonKeyAttributes) > 0 {
		p.NonKeyAttributes = ix.NonKeyAttributes
	}
	return p
}

func (c *Client) createQueues(ctx context.Context, queues []Queue, region string) []error {
	svc := services["sqs"]
	ep, err := c.Resolve(ctx, svc, region)
	if err != nil {
		return []error{err}
	}
	if !ep.Local {
		c.log.Info("SQS is called on AWS: the template's queues are not created (wsgate creates them on local emulators only)", "endpoint", ep.URL.Redacted())
		return nil
	}
	q := sqs.NewFromConfig(c.cfg, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(ep.URL.String())
		o.Region = region
		o.Credentials = c.sdkCredentials(ctx)
		o.RetryMaxAttempts = 2
	})
	var errs []error
	for _, qu := range queues {
		_, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(qu.Name)})
		if err == nil {
			continue
		}
		var nf *sqstypes.QueueDoesNotExist
		if errors.As(err, &nf) {
			_, err = q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(qu.Name), Attributes: qu.Attributes})
		}
		if err != nil {
			err = fmt.Errorf("create SQS queue %q (%s) at %s (%s): %w", qu.Name, qu.LogicalID, ep.URL.Redacted(), ep.Source, err)
			c.log.Error("cannot create a queue of the template on the local endpoint; its integrations will fail until it exists", "queue", qu.Name, "endpoint", ep.URL.Redacted(), "error", err.Error())
			errs = append(errs, err)
			continue
		}
		c.log.Info("created SQS queue on the local endpoint", "queue", qu.Name, "resource", qu.LogicalID, "endpoint", ep.URL.Redacted())
	}
	return errs
}
