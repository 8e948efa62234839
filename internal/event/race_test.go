//go:build race

package event_test

// raceEnabled: the race detector makes sync.Pool drop items and changes what escapes, so
// allocation counts are not meaningful under it.
const raceEnabled = true
