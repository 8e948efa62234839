//go:build race

package tlsmux

const raceEnabled = true
