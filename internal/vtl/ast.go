// Package vtl renders the Velocity Template Language subset that Amazon API Gateway mapping
// templates use for WebSocket APIs: references with properties, method calls and index
// access; #set, #if/#elseif/#else, #foreach (at most 1000 iterations, as on AWS) and #break;
// comments and escapes; arithmetic, comparisons and logic; list, range and map literals; and the
// API Gateway variables $input, $context, $stageVariables and $util.
//
// Lists and maps are mutable and shared by reference as in Java ($l.add($x), $m.put($k, $v)):
// a method call renders its result, so templates discard it with #set($ignored = ...) or
// AppSync's $util.qr(...). String literals may double their quote to contain it ("say ""hi"""),
// as in Velocity 1.7, and, beyond Velocity 1.7, literals take method calls ("a,b".split(",")).
//
// A *Template is immutable once parsed: Render may be called from many goroutines at once.
//
// Semantics follow Velocity 1.7 where AWS does: an undefined reference renders as its source
// text unless it is quiet ($!x); only null and false are false in #if; #set with a null value
// leaves the variable unchanged; arithmetic on non-numbers gives null. AWS's own variables
// ($context, $stageVariables, $input, $util) render as "" when a value is missing.
package vtl

// node is one piece of a template body.
type node interface{ isNode() }

type (
	textNode struct{ s string }
	// refNode writes a reference's value, or its source text when the value is null.
	refNode struct {
		ref *refExpr
	}
	setNode struct {
		target *refExpr
		value  expr
	}
	ifNode struct {
		conds  []expr
		blocks [][]node
		els    []node // nil when there is no #else
	}
	foreachNode struct {
		name string // loop variable, without "$"
		list expr
		body []node
	}
	breakNode struct{}
)

func (textNode) isNode()    {}
func (refNode) isNode()     {}
func (setNode) isNode()     {}
func (ifNode) isNode()      {}
func (foreachNode) isNode() {}
func (breakNode) isNode()   {}

// expr is an expression inside a directive or a method argument.
type expr interface{ isExpr() }

type (
	litExpr struct{ v any }
	// strExpr is a double-quoted string with references in it, rendered on each evaluation.
	strExpr   struct{ body []node }
	listExpr  struct{ elems []expr }
	rangeExpr struct {
		from, to expr
	}
	mapExpr struct {
		keys, vals []expr
	}
	binExpr struct {
		op   string
		l, r expr
	}
	unExpr struct {
		op string
		x  expr
	}
	// chainExpr is a literal followed by property, method and index steps: "a,b".split(","),
	// [1, 2].size().
	chainExpr struct {
		base  expr
		steps []access
	}
	// refExpr is `$name` followed by property, method and index steps.
	refExpr struct {
		name  string
		steps []access
		quiet bool
		src   string // source text, rendered when the value is null
	}
)

// access is one step after a reference's root: .prop, .method(args) or [index].
type access struct {
	kind  accessKind
	name  string
	args  []expr
	index expr
}

type accessKind uint8

const (
	accessProp accessKind = iota
	accessMethod
	accessIndex
)

func (litExpr) isExpr()   {}
func (strExpr) isExpr()   {}
func (listExpr) isExpr()  {}
func (rangeExpr) isExpr() {}
func (mapExpr) isExpr()   {}
func (binExpr) isExpr()   {}
func (unExpr) isExpr()    {}
func (*refExpr) isExpr()  {}
func (chainExpr) isExpr() {}
