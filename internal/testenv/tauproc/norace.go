//go:build !race

package tauproc

const raceEnabled = false
