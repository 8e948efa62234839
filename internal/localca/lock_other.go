//go:build !unix

package localca

// lock is a no-op where flock is not available: processes sharing a state directory must not
// start at the same instant the first time (when the CA is made).
func lock(string) (func(), error) { return func() {}, nil }
