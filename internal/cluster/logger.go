package cluster

import (
	"fmt"

	"go.uber.org/zap"
)

// raftLogger gives Raft's logger interface a zap logger; Raft's chatter is at debug level
// except what it reports as a warning or worse.
type raftLogger struct{ l *zap.Logger }

func (r raftLogger) Debug(v ...any)                 { r.l.Debug(fmt.Sprint(v...)) }
func (r raftLogger) Debugf(format string, v ...any) { r.l.Debug(fmt.Sprintf(format, v...)) }
func (r raftLogger) Info(v ...any)                  { r.l.Debug(fmt.Sprint(v...)) }
func (r raftLogger) Infof(format string, v ...any)  { r.l.Debug(fmt.Sprintf(format, v...)) }
func (r raftLogger) Warning(v ...any)               { r.l.Warn(fmt.Sprint(v...)) }
func (r raftLogger) Warningf(format string, v ...any) {
	r.l.Warn(fmt.Sprintf(format, v...))
}
func (r raftLogger) Error(v ...any)                 { r.l.Error(fmt.Sprint(v...)) }
func (r raftLogger) Errorf(format string, v ...any) { r.l.Error(fmt.Sprintf(format, v...)) }
func (r raftLogger) Fatal(v ...any)                 { r.l.Fatal(fmt.Sprint(v...)) }
func (r raftLogger) Fatalf(format string, v ...any) { r.l.Fatal(fmt.Sprintf(format, v...)) }
func (r raftLogger) Panic(v ...any)                 { r.l.Panic(fmt.Sprint(v...)) }
func (r raftLogger) Panicf(format string, v ...any) { r.l.Panic(fmt.Sprintf(format, v...)) }
