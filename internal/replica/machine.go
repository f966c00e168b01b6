package replica

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/taudb/tau/internal/engine"
)

// machine applies committed commands to the engine, in log order, one at a time: the
// cluster's state machine. Every replica decides the same outcome for the same command
// (C4), because an outcome depends only on the commands before it: a full mailbox is waited
// out rather than answered busy, since busy depends on timing, not on the log.
type machine struct {
	e     *engine.Engine
	res   *engine.Result // the loop applies one command at a time
	snaps *Snapshots     // nil: no snapshots (tests)
	// settings are the cluster's, once the log has them (the first settings command); mine
	// this member's own; differ is told, on the loop, when the two are not the same.
	settings atomic.Pointer[Settings]
	mine     Settings
	differ   func(mine, cluster Settings)
}

func newMachine(e *engine.Engine, snaps *Snapshots) *machine {
	return &machine{e: e, res: engine.NewResult(), snaps: snaps}
}

// applySettings records the cluster's settings (the first command holds, on every replica
// alike) and checks this member's against them.
func (m *machine) applySettings(s Settings) {
	if m.settings.Load() == nil {
		m.settings.Store(&s)
	}
	m.check()
}

// check tells differ when this member's settings are not the cluster's.
func (m *machine) check() {
	if s := m.settings.Load(); s != nil && *s != m.mine && m.differ != nil {
		m.differ(m.mine, *s)
	}
}

// busyBackoff is how long apply waits for a full mailbox to drain before it tries again.
const busyBackoff = 50 * time.Microsecond

// Apply runs cmd on the engine and returns its outcome: nil, or one of the engine's errors.
func (m *machine) Apply(_ uint64, cmd []byte) any {
	c, err := decodeCommand(cmd)
	if err != nil {
		return err
	}
	if c.op == opSettings {
		m.applySettings(c.settings)
		return nil
	}
	for {
		m.run(&c)
		m.res.Wait()
		err := m.res.Durable()
		if !errors.Is(err, engine.ErrBusy) {
			return err
		}
		time.Sleep(busyBackoff)
	}
}

func (m *machine) run(c *command) {
	switch c.op {
	case opCreate:
		m.e.Create(c.label, m.res)
	case opDrop:
		m.e.Drop(c.label, m.res)
	case opAppend:
		m.e.Append(c.label, c.ts, c.bits, m.res)
	case opBatch:
		m.e.AppendBatch(c.label, c.points, m.res)
	case opCreateLens:
		m.e.CreateLens(c.label, c.other, c.transform, m.res)
	case opDropLens:
		m.e.DropLens(c.label, m.res)
	case opComposeLens:
		m.e.ComposeLens(c.label, c.other, c.second, m.res)
	case opRestoreLens:
		m.e.RestoreLens(c.label, c.other, c.chain, m.res)
	}
}

// Snapshot dumps the engine's state at the last applied index (the loop applies nothing
// meanwhile) into a file, and returns its descriptor.
func (m *machine) Snapshot(index uint64) ([]byte, error) {
	if m.snaps == nil {
		return nil, errors.New("replica: no snapshot directory")
	}
	return m.snaps.write(m.e, index, m.settings.Load())
}

// Restore replaces the engine's state with the snapshot data describes (empty: nothing).
func (m *machine) Restore(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	d, err := decodeDescriptor(data)
	if err != nil {
		return err
	}
	if m.snaps == nil {
		return errors.New("replica: no snapshot directory")
	}
	settings, err := m.snaps.restore(m.e, d)
	if err != nil {
		return err
	}
	m.settings.Store(settings)
	m.check()
	return nil
}
