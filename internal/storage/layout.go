package storage

// Directory layout under the data directory. Names inside are sequence numbers the store
// chose (package diskfmt): nothing a client sends (a label) ever becomes part of a path.
const (
	walDirName        = "wal"        // wal/0000000000000001, …: log segments (package wal)
	checkpointDirName = "checkpoint" // checkpoint/<segment>: a snapshot covering segments before it
)
