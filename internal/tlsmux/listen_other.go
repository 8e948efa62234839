//go:build !linux

package tlsmux

// deferAccept does nothing where TCP_DEFER_ACCEPT is not available.
func deferAccept(uintptr) error { return nil }
