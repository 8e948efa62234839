package cfn

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wsgate/wsgate/internal/awsservice"
)

// AWSResources returns the DynamoDB tables (AWS::DynamoDB::Table, AWS::Serverless::SimpleTable)
// and SQS queues (AWS::SQS::Queue) of a template, with the names Ref gives them, for `serve
// --template` to create on local emulators. Resources whose Condition is false are left out.
// Properties are read as CloudFormation reads them; warnings about names were already given
// by Import and are not repeated.
func AWSResources(name string, data []byte, o Options) (awsservice.Resources, error) {
	var res awsservice.Resources
	root, err := parseDocument(name, data)
	if err != nil {
		return res, err
	}
	t := &template{
		file: name, o: o,
		params: map[string]*param{}, conds: map[string]*yaml.Node{}, condState: map[string]int{},
		seen: map[string]bool{}, naming: map[string]bool{},
	}
	if err := t.load(root); err != nil {
		return res, err
	}
	for _, r := range t.resources {
		if r.cond != "" {
			on, err := t.condition(r.cond, r.node, "Resources."+r.id+".Condition", 0)
			if err != nil {
				return res, err
			}
			if !on {
				continue
			}
		}
		switch r.typ {
		case "AWS::DynamoDB::Table":
			tb, err := t.table(r)
			if err != nil {
				return res, err
			}
			res.Tables = append(res.Tables, tb)
		case "AWS::Serverless::SimpleTable":
			tb, err := t.simpleTable(r)
			if err != nil {
				return res, err
			}
			res.Tables = append(res.Tables, tb)
		case "AWS::SQS::Queue":
			q, err := t.queue(r)
			if err != nil {
				return res, err
			}
			res.Queues = append(res.Queues, q)
		}
	}
	return res, nil
}

// props evaluates all of r's properties.
func (t *template) props(r *resource) (map[string]any, error) {
	if r.props == nil {
		return map[string]any{}, nil
	}
	v, err := t.eval(r.props, "Resources."+r.id+".Properties", 0)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func str(v any) string {
	s, _ := asString(v)
	return s
}

func num(v any) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(str(v)), 10, 64)
	return n
}

func list(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func keySchema(v any) []awsservice.Key {
	var ks []awsservice.Key
	for _, k := range list(v) {
		ks = append(ks, awsservice.Key{Name: str(k["AttributeName"]), Type: str(k["KeyType"])})
	}
	return ks
}

func indexes(v any) []awsservice.Index {
	var out []awsservice.Index
	for _, ix := range list(v) {
		i := awsservice.Index{Name: str(ix["IndexName"]), KeySchema: keySchema(ix["KeySchema"])}
		if p, ok := ix["Projection"].(map[string]any); ok {
			i.ProjectionType = str(p["ProjectionType"])
			if l, ok := p["NonKeyAttributes"].([]any); ok {
				for _, a := range l {
					i.NonKeyAttributes = append(i.NonKeyAttributes, str(a))
				}
			}
		}
		if pt, ok := ix["ProvisionedThroughput"].(map[string]any); ok {
			i.Read, i.Write = num(pt["ReadCapacityUnits"]), num(pt["WriteCapacityUnits"])
		}
		out = append(out, i)
	}
	return out
}

func (t *template) table(r *resource) (awsservice.Table, error) {
	p, err := t.props(r)
	if err != nil {
		return awsservice.Table{}, err
	}
	tb := awsservice.Table{LogicalID: r.id, Name: t.physicalID(r), KeySchema: keySchema(p["KeySchema"]), BillingMode: str(p["BillingMode"])}
	for _, a := range list(p["AttributeDefinitions"]) {
		tb.Attributes = append(tb.Attributes, awsservice.Attribute{Name: str(a["AttributeName"]), Type: str(a["AttributeType"])})
	}
	if pt, ok := p["ProvisionedThroughput"].(map[string]any); ok {
		tb.Read, tb.Write = num(pt["ReadCapacityUnits"]), num(pt["WriteCapacityUnits"])
	}
	tb.GlobalIndexes = indexes(p["GlobalSecondaryIndexes"])
	tb.LocalIndexes = indexes(p["LocalSecondaryIndexes"])
	if s, ok := p["StreamSpecification"].(map[string]any); ok {
		tb.StreamViewType = str(s["StreamViewType"])
	}
	if ttl, ok := p["TimeToLiveSpecification"].(map[string]any); ok && (ttl["Enabled"] == true || strings.EqualFold(str(ttl["Enabled"]), "true")) {
		tb.TTLAttribute = str(ttl["AttributeName"])
	}
	return tb, nil
}

// simpleTable is SAM's AWS::Serverless::SimpleTable: a PrimaryKey {Name, Type} (default id,
// String) and on-demand billing unless ProvisionedThroughput is given.
func (t *template) simpleTable(r *resource) (awsservice.Table, error) {
	p, err := t.props(r)
	if err != nil {
		return awsservice.Table{}, err
	}
	name, typ := "id", "S"
	if pk, ok := p["PrimaryKey"].(map[string]any); ok {
		if n := str(pk["Name"]); n != "" {
			name = n
		}
		switch str(pk["Type"]) {
		case "Number":
			typ = "N"
		case "Binary":
			typ = "B"
		}
	}
	tb := awsservice.Table{LogicalID: r.id, Name: t.physicalID(r), Attributes: []awsservice.Attribute{{Name: name, Type: typ}},
		KeySchema: []awsservice.Key{{Name: name, Type: "HASH"}}, BillingMode: "PAY_PER_REQUEST"}
	if pt, ok := p["ProvisionedThroughput"].(map[string]any); ok {
		tb.BillingMode, tb.Read, tb.Write = "PROVISIONED", num(pt["ReadCapacityUnits"]), num(pt["WriteCapacityUnits"])
	}
	return tb, nil
}

// queueAttributes are the AWS::SQS::Queue properties that are CreateQueue attributes of the
// same name.
var queueAttributes = []string{"FifoQueue", "ContentBasedDeduplication", "DelaySeconds", "MaximumMessageSize",
	"MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "DeduplicationScope", "FifoThroughputLimit"}

func (t *template) queue(r *resource) (awsservice.Queue, error) {
	p, err := t.props(r)
	if err != nil {
		return awsservice.Queue{}, err
	}
	q := awsservice.Queue{LogicalID: r.id, Name: t.physicalID(r), Attributes: map[string]string{}}
	for _, k := range queueAttributes {
		if v, ok := p[k]; ok && !(k == "FifoQueue" && str(v) != "true") {
			q.Attributes[k] = str(v)
		}
	}
	return q, nil
}
