//go:build !linux

package tlsmux

// deferAccept does nothing where TCP_DEFER_ACCEPT is not available.
func deferAccept(uintptr) error { return nil }

// InheritsSocketOptions is false here: Go sets TCP keep-alive on each accepted connection, and
// ListenOptions are not applied.
const InheritsSocketOptions = false

func inherited(uintptr, ListenOptions) error { return nil }
