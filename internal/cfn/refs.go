package cfn

import (
	"crypto/sha256"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

func (t *template) region() string    { return or(t.o.Region, DefaultRegion) }
func (t *template) accountID() string { return or(t.o.AccountID, DefaultAccountID) }
func (t *template) stackName() string { return or(t.o.StackName, DefaultStackName) }

func (t *template) partition() string {
	r := t.region()
	switch {
	case strings.HasPrefix(r, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(r, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func (t *template) urlSuffix() string {
	if strings.HasPrefix(t.region(), "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pseudo returns a pseudo parameter's value.
func (t *template) pseudo(name string) (any, bool) {
	switch name {
	case "AWS::Region":
		return t.region(), true
	case "AWS::AccountId":
		return t.accountID(), true
	case "AWS::StackName":
		return t.stackName(), true
	case "AWS::StackId":
		return "arn:" + t.partition() + ":cloudformation:" + t.region() + ":" + t.accountID() + ":stack/" + t.stackName() + "/00000000-0000-0000-0000-000000000000", true
	case "AWS::Partition":
		return t.partition(), true
	case "AWS::URLSuffix":
		return t.urlSuffix(), true
	case "AWS::NoValue":
		return noValue, true
	case "AWS::NotificationARNs":
		return []any{}, true
	}
	return nil, false
}

// ref resolves Ref name: a pseudo parameter, a parameter, or a resource's physical id.
func (t *template) ref(name string, at *yaml.Node, path string) (any, error) {
	if v, ok := t.pseudo(name); ok {
		return v, nil
	}
	if p, ok := t.params[name]; ok {
		if p.value == nil {
			return nil, t.errAt(p.node, "Parameters."+name, "has no Default; give --parameter "+name+"=VALUE")
		}
		if strings.HasPrefix(p.typ, "AWS::SSM::Parameter::Value<") && t.o.Parameters[name] == "" {
			return nil, t.errAt(p.node, "Parameters."+name, "is read from SSM Parameter Store "+strconvQuote(*p.value)+", which wsgate cannot reach; give --parameter "+name+"=VALUE")
		}
		if p.typ == "CommaDelimitedList" || (strings.HasPrefix(p.typ, "List<") && !strings.HasPrefix(p.typ, "List<AWS::SSM")) {
			var out []any
			for _, s := range splitList(*p.value) {
				out = append(out, s)
			}
			if out == nil {
				out = []any{}
			}
			return out, nil
		}
		return *p.value, nil
	}
	if r, ok := t.byID[name]; ok {
		return t.refValue(r), nil
	}
	return nil, t.errAt(at, path, "Ref to "+strconvQuote(name)+": no parameter, resource or pseudo parameter has that name")
}

// physicalID is a resource's physical name. wsgate has no deployed resources: a function's
// name is its FunctionName when set; the resources of namedTypes get their name property or,
// without one, the name CloudFormation would generate (see generatedName); anything else is
// its logical id.
func (t *template) physicalID(r *resource) string {
	if isFunction(r.typ) {
		return t.functionName(r)
	}
	if _, ok := namedTypes[r.typ]; ok {
		return t.resourceName(r)
	}
	return r.id
}

// refValue is what Ref returns for a resource, as CloudFormation documents it per type: the
// ARN of a state machine or topic, the URL of a queue, the name of anything else here.
func (t *template) refValue(r *resource) string {
	switch r.typ {
	case "AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine":
		return t.arn("states", "stateMachine:"+t.physicalID(r))
	case "AWS::SQS::Queue":
		return t.queueURL(t.physicalID(r))
	case "AWS::SNS::Topic":
		return t.arn("sns", t.physicalID(r))
	}
	return t.physicalID(r)
}

// namedType is a resource type whose physical name wsgate resolves.
type namedType struct {
	prop  string // the physical name property
	limit int    // the longest name the service takes
	stack bool   // generated names start with the stack name
}

// namedTypes are the resources AWS service integrations and their templates refer to.
var namedTypes = map[string]namedType{
	"AWS::DynamoDB::Table":             {"TableName", 255, true},
	"AWS::Serverless::SimpleTable":     {"TableName", 255, true},
	"AWS::StepFunctions::StateMachine": {"StateMachineName", 80, false},
	"AWS::Serverless::StateMachine":    {"Name", 80, false},
	"AWS::SQS::Queue":                  {"QueueName", 80, true},
	"AWS::SNS::Topic":                  {"TopicName", 256, true},
	"AWS::Events::EventBus":            {"Name", 256, true},
	"AWS::IAM::Role":                   {"RoleName", 64, true},
	"AWS::Logs::LogGroup":              {"LogGroupName", 512, true},
}

// resourceName is r's name property when it evaluates to a string, else the generated name
// (reported once as an approximation).
func (t *template) resourceName(r *resource) string {
	nt := namedTypes[r.typ]
	if t.naming[r.id] {
		return r.id // the name property refers to the resource itself
	}
	t.naming[r.id] = true
	defer delete(t.naming, r.id)
	if n := propNode(r, nt.prop); n != nil {
		if s, err := t.evalString(n, propPath(r, nt.prop), 0); err == nil && s != "" {
			return s
		}
	}
	name := t.generatedName(r, nt)
	t.warn(r.id, nt.prop, "not set: CloudFormation generates a name at deploy time; wsgate uses "+strconvQuote(name)+
		" (the same on every run); set "+nt.prop+" to choose it")
	return name
}

// generatedName is a name in CloudFormation's shape for an unnamed resource:
// {stack}-{logicalId}-{13 upper-case letters and digits}, or {logicalId}-{12 letters and
// digits} for state machines (as their deployed ARNs show), the parts shortened to fit the
// service's limit, with ".fifo" kept on FIFO queues.
// The suffix is derived from the stack name and logical id, so it is stable across runs where
// CloudFormation's is random.
func (t *template) generatedName(r *resource, nt namedType) string {
	sum := sha256.Sum256([]byte(t.stackName() + "/" + r.id))
	alphabet, n := "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13
	if !nt.stack {
		// State machine names are {logicalId}-{12 letters of both cases and digits}.
		alphabet, n = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 12
	}
	suffix := make([]byte, n)
	for i := range suffix {
		suffix[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	ext := ""
	if r.typ == "AWS::SQS::Queue" && t.propBoolQuiet(r, "FifoQueue") {
		ext = ".fifo"
	}
	room := nt.limit - len(suffix) - len(ext) - 1
	id := r.id
	if !nt.stack {
		if len(id) > room {
			id = id[:room]
		}
		return id + "-" + string(suffix) + ext
	}
	stack := t.stackName()
	room-- // the second dash
	if len(stack)+len(id) > room {
		half := room / 2
		switch {
		case len(stack) <= half:
			id = id[:room-len(stack)]
		case len(id) <= half:
			stack = stack[:room-len(id)]
		default:
			stack, id = stack[:half], id[:room-half]
		}
	}
	return stack + "-" + id + "-" + string(suffix) + ext
}

// propBoolQuiet is a boolean property's value; false when unset or not a boolean.
func (t *template) propBoolQuiet(r *resource, key string) bool {
	n := propNode(r, key)
	if n == nil {
		return false
	}
	v, err := t.eval(n, propPath(r, key), 0)
	if err != nil {
		return false
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// arn is arn:{partition}:{service}:{region}:{account}:{resource}.
func (t *template) arn(service, res string) string {
	return "arn:" + t.partition() + ":" + service + ":" + t.region() + ":" + t.accountID() + ":" + res
}

// queueURL is a queue's URL: at the SQS endpoint wsgate is pointed at (--aws-endpoint-url,
// aws.endpoints, AWS_ENDPOINT_URL_SQS), else on AWS.
func (t *template) queueURL(name string) string {
	base := t.o.AWSEndpoints["sqs"]
	if base == "" {
		base = t.o.AWSEndpoints["default"]
	}
	if base == "" {
		base = "https://sqs." + t.region() + "." + t.urlSuffix()
	}
	return strings.TrimRight(base, "/") + "/" + t.accountID() + "/" + name
}

func isFunction(typ string) bool {
	return typ == "AWS::Serverless::Function" || typ == "AWS::Lambda::Function"
}

// functionName is the FunctionName property when it evaluates to a string, else the logical id.
func (t *template) functionName(r *resource) string {
	if t.naming[r.id] {
		return r.id // FunctionName refers to the function itself
	}
	t.naming[r.id] = true
	defer delete(t.naming, r.id)
	if n := propNode(r, "FunctionName"); n != nil {
		if s, err := t.evalString(n, "Resources."+r.id+".Properties.FunctionName", 0); err == nil && s != "" {
			return s
		}
	}
	return r.id
}

// getAtt resolves Fn::GetAtt for the attributes wsgate can give a meaning: ARNs and ids
// derived from the logical id, the region and the account.
func (t *template) getAtt(id, attr string, at *yaml.Node, path string) (any, error) {
	r, ok := t.byID[id]
	if !ok {
		return nil, t.errAt(at, path, "Fn::GetAtt: no resource "+strconvQuote(id)+" (resources: "+strings.Join(t.resourceIDs(), ", ")+")")
	}
	p, reg, acct, name := t.partition(), t.region(), t.accountID(), t.physicalID(r)
	switch r.typ {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		if attr == "Arn" {
			return "arn:" + p + ":lambda:" + reg + ":" + acct + ":function:" + name, nil
		}
	case "AWS::ApiGatewayV2::Api":
		switch attr {
		case "ApiEndpoint":
			return "wss://" + name + ".execute-api." + reg + "." + t.urlSuffix(), nil
		case "ApiId":
			return name, nil
		}
	case "AWS::IAM::Role":
		switch attr {
		case "Arn":
			path := "/"
			if n := propNode(r, "Path"); n != nil {
				if s, err := t.evalString(n, propPath(r, "Path"), 0); err == nil && s != "" {
					path = s
				}
			}
			return "arn:" + p + ":iam::" + acct + ":role" + path + name, nil
		case "RoleId":
			t.warn(r.id, "", "Fn::GetAtt "+id+".RoleId: AWS assigns role ids at deploy time; wsgate gives the role name")
			return name, nil
		}
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		switch attr {
		case "Arn":
			return t.arn("dynamodb", "table/"+name), nil
		case "StreamArn":
			t.warn(r.id, "", "Fn::GetAtt "+id+".StreamArn: the stream label is set at deploy time; wsgate uses 1970-01-01T00:00:00.000")
			return t.arn("dynamodb", "table/"+name+"/stream/1970-01-01T00:00:00.000"), nil
		}
	case "AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine":
		switch attr {
		case "Arn":
			return t.arn("states", "stateMachine:"+name), nil
		case "Name":
			return name, nil
		}
	case "AWS::SQS::Queue":
		switch attr {
		case "Arn":
			return t.arn("sqs", name), nil
		case "QueueName":
			return name, nil
		case "QueueUrl":
			return t.queueURL(name), nil
		}
	case "AWS::SNS::Topic":
		switch attr {
		case "TopicArn":
			return t.arn("sns", name), nil
		case "TopicName":
			return name, nil
		}
	case "AWS::Events::EventBus":
		switch attr {
		case "Arn":
			return t.arn("events", "event-bus/"+name), nil
		case "Name":
			return name, nil
		}
	case "AWS::Logs::LogGroup":
		if attr == "Arn" {
			return t.arn("logs", "log-group:"+name+":*"), nil
		}
	}
	if strings.HasSuffix(attr, "Id") || attr == "Name" {
		return name, nil
	}
	if attr == "Arn" {
		// arn:aws:{service}:{region}:{account}:{type}/{name} from AWS::Service::Type.
		parts := strings.Split(r.typ, "::")
		svc, kind := "unknown", "resource"
		if len(parts) == 3 {
			svc, kind = strings.ToLower(parts[1]), strings.ToLower(parts[2])
		}
		return "arn:" + p + ":" + svc + ":" + reg + ":" + acct + ":" + kind + "/" + name, nil
	}
	return nil, t.errAt(at, path, "Fn::GetAtt "+id+"."+attr+": wsgate cannot know this attribute of a "+r.typ+"; replace it with a Parameter")
}

func (t *template) resourceIDs() []string {
	ids := make([]string, 0, len(t.resources))
	for _, r := range t.resources {
		ids = append(ids, r.id)
	}
	sort.Strings(ids)
	return ids
}

// sub evaluates Fn::Sub in both forms: "text ${Var}" and ["text ${Var}", {Var: value}].
func (t *template) sub(arg, at *yaml.Node, path string, depth int) (any, error) {
	arg = deref(arg)
	var text string
	vars := map[string]*yaml.Node{}
	switch arg.Kind {
	case yaml.ScalarNode:
		if isIntrinsic(arg) {
			return nil, t.errAt(at, path, "Fn::Sub takes a literal string or [string, {Var: value}]")
		}
		text = arg.Value
	case yaml.SequenceNode:
		if len(arg.Content) != 2 {
			return nil, t.errAt(at, path, "Fn::Sub takes a literal string or [string, {Var: value}]")
		}
		s, err := t.evalString(arg.Content[0], path, depth)
		if err != nil {
			return nil, err
		}
		text = s
		m := deref(arg.Content[1])
		if m.Kind != yaml.MappingNode || isIntrinsic(m) {
			return nil, t.errAt(m, path, "the second item of Fn::Sub must be a mapping of variable names to values")
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			vars[m.Content[i].Value] = m.Content[i+1]
		}
	default:
		return nil, t.errAt(at, path, "Fn::Sub takes a literal string or [string, {Var: value}]")
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			break
		}
		b.WriteString(text[:i])
		text = text[i:]
		if strings.HasPrefix(text, "${!") {
			// ${!Literal} writes ${Literal}.
			b.WriteString("${")
			text = text[3:]
			continue
		}
		j := strings.IndexByte(text, '}')
		if j < 0 {
			b.WriteString(text)
			break
		}
		name := strings.TrimSpace(text[2:j])
		text = text[j+1:]
		s, err := t.subVar(name, vars, at, path, depth)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (t *template) subVar(name string, vars map[string]*yaml.Node, at *yaml.Node, path string, depth int) (string, error) {
	var v any
	var err error
	if n, ok := vars[name]; ok {
		v, err = t.eval(n, path+"."+name, depth+1)
	} else if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
		if _, isRes := t.byID[res]; !isRes && res == "stageVariables" {
			return "", t.errAt(at, path, "${"+name+"} in Fn::Sub: CloudFormation would read this as a resource attribute; write ${!"+name+"} to keep the stage variable, or use a plain string without Fn::Sub")
		}
		v, err = t.getAtt(res, attr, at, path)
	} else {
		v, err = t.ref(name, at, path)
	}
	if err != nil {
		return "", err
	}
	s, ok := asString(v)
	if !ok {
		return "", t.errAt(at, path, "${"+name+"} in Fn::Sub is "+describe(v)+", not a string")
	}
	return s, nil
}

// propNode returns the raw node of a resource property, or nil.
func propNode(r *resource, key string) *yaml.Node {
	if r.props == nil {
		return nil
	}
	for i := 0; i+1 < len(r.props.Content); i += 2 {
		if r.props.Content[i].Value == key {
			return r.props.Content[i+1]
		}
	}
	return nil
}
