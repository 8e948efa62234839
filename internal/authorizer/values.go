package authorizer

import (
	"encoding/json"
	"strconv"
)

// scalar turns a decoded JSON value into something AWS allows in an authorizer context (string,
// number or bool). Numbers come as json.Number and become int64 when integral (user ids such as
// 12345678901234567 keep every digit) or float64. Arrays and objects are JSON-encoded to a
// string; null is dropped (ok=false).
func scalar(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string, bool, float64, int64:
		return x, true
	case json.Number:
		return number(x), true
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, false
		}
		return string(b), true
	}
}

// strictScalar is scalar for REQUEST authorizer output, where AWS refuses arrays and objects:
// ok=false for those (and for null).
func strictScalar(v any) (any, bool) {
	switch x := v.(type) {
	case string, bool:
		return x, true
	case json.Number:
		return number(x), true
	}
	return nil, false
}

func number(n json.Number) any {
	if i, err := n.Int64(); err == nil {
		return i
	}
	if f, err := n.Float64(); err == nil {
		return f
	}
	return n.String()
}

// claimString renders a string or number claim as a user id: "1234" for both "1234" and 1234.
func claimString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}
