// Package wal is Tau's write-ahead log: numbered segments in one directory, records framed
// with a length and a CRC32C, appended by one committer goroutine that writes every
// concurrent appender's records with one write() and one fsync (group commit).
//
// A Log is driven through a small interface, the one a consensus loop needs:
//
//	Append, AppendAll   append a record, or a batch of them in one group commit, and get the
//	                    Ticket that resolves once they are durable under the fsync policy
//	Sync                wait until everything appended so far is on stable storage
//	ReadFrom            read the records from an LSN (the log's index) on
//	TruncateAfter       drop a suffix: every record after an LSN
//	Cut, RemoveBefore   start a new segment, and compact a prefix away once a checkpoint
//	                    covers it
//
// and Recover, once at start, which replays the segments from a checkpoint's mark, repairs a
// torn tail (or a torn header) of the last segment and refuses damage anywhere else.
//
// After a failed write or fsync the log never trusts itself again: every later write gets
// ErrLogFailed until the process restarts and recovery runs from what is on disk (the
// "fsyncgate" lesson). The bytes of a batch whose fsync failed are cut, so a restart does not
// resurrect records answered with an error.
//
// The log knows records, not what they mean: replaying them into series is the store's
// (package storage). docs/storage-format.md describes the segment and record formats byte for
// byte; format.go exports them for tools and golden tests.
package wal
