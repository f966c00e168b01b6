//go:build race

package tauproc

// raceEnabled: this test process runs with -race, so the server is built with it too.
const raceEnabled = true
