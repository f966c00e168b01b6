package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/taudb/tau/internal/testenv/lincheck"
)

// TestC1_AnyNodeServesAnyRequest: a proposal made on any node, leader or follower, is
// applied on every node, and its proposer gets the outcome.
func TestC1_AnyNodeServesAnyRequest(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := newCluster(t, size, 1)
			c.leader()
			for i, id := range c.ids {
				if prev := c.put(id, "k", i+1); prev != i {
					t.Fatalf("put on node %d: previous value %d, want %d", id, prev, i)
				}
			}
			c.converged(c.ids...)
			for _, id := range c.ids {
				if v, err := c.get(id, "k"); err != nil || v != size {
					t.Fatalf("read on node %d: %d, %v; want %d", id, v, err, size)
				}
			}
		})
	}
}

// TestC4_OutcomesDecidedInLogOrder: concurrent proposals from every node, each answered with
// the value it replaced, leave every replica with the same commands and the same outcomes in
// the same order, and every proposer's answer is the one the log order gave.
func TestC4_OutcomesDecidedInLogOrder(t *testing.T) {
	c := newCluster(t, 3, 2)
	c.leader()
	type answer struct{ v, prev int }
	var mu sync.Mutex
	var answers []answer
	var wg sync.WaitGroup
	for _, id := range c.ids {
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					v := int(id)*1000 + w*100 + i + 1
					prev := c.put(id, "x", v)
					mu.Lock()
					answers = append(answers, answer{v, prev})
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	c.converged(c.ids...)
	// In log order, each put replaced the one before it: the answers form one chain.
	next := map[int]int{}
	for _, a := range answers {
		if _, dup := next[a.prev]; dup {
			t.Fatalf("two puts both replaced %d", a.prev)
		}
		next[a.prev] = a.v
	}
	n, v := 0, 0
	for {
		w, ok := next[v]
		if !ok {
			break
		}
		v, n = w, n+1
	}
	if n != len(answers) {
		t.Fatalf("the answers chain %d of %d puts: outcomes disagree with one log order", n, len(answers))
	}
}

// TestC5_NoQuorumNoLie: with a majority down, a write is never acknowledged and a read never
// answered; once the majority is back, the cluster serves again and nothing unacknowledged
// that was refused as busy appears.
func TestC5_NoQuorumNoLie(t *testing.T) {
	c := newCluster(t, 3, 3)
	lead := c.leader()
	c.put(lead, "k", 1)
	var others []uint64
	for _, id := range c.ids {
		if id != lead {
			others = append(others, id)
		}
	}
	c.crash(others[0])
	c.crash(others[1])
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := c.node(lead).Propose(ctx, []byte("put k 2"))
	cancel()
	if !errors.Is(err, ErrBusy) && !errors.Is(err, ErrUnknown) {
		t.Fatalf("a write without a quorum: %v, want ErrBusy or ErrUnknown", err)
	}
	if _, err := c.get(lead, "k"); !errors.Is(err, ErrBusy) {
		t.Fatalf("a read without a quorum: %v, want ErrBusy", err)
	}
	c.start(others[0], c.ids)
	c.start(others[1], c.ids)
	c.leader()
	for _, id := range c.ids {
		v, err := c.get(id, "k")
		for errors.Is(err, ErrBusy) {
			v, err = c.get(id, "k")
		}
		if err != nil || (v != 1 && v != 2) {
			t.Fatalf("node %d reads %d, %v: want the acknowledged 1, or the unknown 2", id, v, err)
		}
	}
}

// TestC6_WritesResumeAfterTheLeaderCrashes: kill the leader again and again; each time a new
// leader is elected among the rest and writes resume on every surviving node. (How long that
// takes is measured by the cluster benchmarks, not asserted here.)
func TestC6_WritesResumeAfterTheLeaderCrashes(t *testing.T) {
	c := newCluster(t, 5, 4)
	for round := 0; round < 4; round++ {
		lead := c.leader()
		c.put(lead, "r", round)
		c.crash(lead)
		var alive []uint64
		for _, id := range c.ids {
			if c.node(id) != nil {
				alive = append(alive, id)
			}
		}
		if len(alive) < 3 {
			c.start(lead, c.ids) // keep a majority: bring the old leader back as a follower
			alive = append(alive, lead)
		}
		newLead := c.leader(alive...)
		if newLead == lead && c.node(lead) == nil {
			t.Fatalf("round %d: the crashed node %d still counts as leader", round, lead)
		}
		for _, id := range alive {
			c.put(id, fmt.Sprintf("after-%d", round), int(id))
		}
	}
}

// TestC2_NoStaleReadFromACutOffLeader: a leader cut off from the others, which does not know
// it was replaced, never answers a read: the majority elects another leader and takes a
// write the old one cannot see.
func TestC2_NoStaleReadFromACutOffLeader(t *testing.T) {
	c := newCluster(t, 3, 5)
	old := c.leader()
	c.put(old, "k", 1)
	var rest []uint64
	for _, id := range c.ids {
		if id != old {
			rest = append(rest, id)
		}
	}
	c.net.partition([]uint64{old}, rest)
	lead := c.leader(rest...)
	c.put(lead, "k", 2)
	if v, err := c.get(old, "k"); err == nil {
		t.Fatalf("the cut-off old leader answered a read: %d", v)
	}
	c.net.heal()
	c.leader()
	v, err := c.get(old, "k")
	for errors.Is(err, ErrBusy) {
		v, err = c.get(old, "k")
	}
	if err != nil || v != 2 {
		t.Fatalf("after healing, node %d reads %d, %v; want 2", old, v, err)
	}
}

// TestC2_AsymmetricPartition: a leader that can send but not hear (its heartbeats arrive,
// the answers do not) steps down under CheckQuorum; the cluster goes on with another leader.
func TestC2_AsymmetricPartition(t *testing.T) {
	c := newCluster(t, 3, 6)
	old := c.leader()
	for _, id := range c.ids {
		if id != old {
			c.net.cutOneWay(id, old)
		}
	}
	deadline := time.Now().Add(waitHang)
	for c.node(old).IsLeader() && time.Now().Before(deadline) {
		time.Sleep(testTick)
	}
	if c.node(old).IsLeader() {
		t.Fatal("a leader that hears nobody is still leader")
	}
	if _, err := c.get(old, "k"); err == nil {
		t.Fatal("a node that hears nobody answered a read")
	}
	c.net.heal()
	c.put(c.leader(), "k", 3)
}

// TestC7_CatchUpFromLogAndSnapshot: a node that was down while the others wrote and
// compacted their logs behind a snapshot comes back and serves the same data; one down for
// less catches up from the log.
func TestC7_CatchUpFromLogAndSnapshot(t *testing.T) {
	c := newCluster(t, 3, 7)
	lead := c.leader()
	lagging := c.ids[0]
	if lagging == lead {
		lagging = c.ids[1]
	}
	c.crash(lagging)
	for i := 0; i < 50; i++ {
		c.put(lead, fmt.Sprintf("k%d", i%7), i)
	}
	for _, id := range c.ids {
		if id != lagging {
			c.compact(id)
		}
	}
	c.start(lagging, c.ids)
	c.put(lead, "last", 1)
	c.sameState(c.ids...)
	if v, err := c.get(lagging, "k6"); err != nil || v != 48 {
		t.Fatalf("the node that caught up reads k6 = %d, %v; want 48", v, err)
	}
}

// compact snapshots node id's state machine at its applied index and compacts its log.
func (c *cluster) compact(id uint64) {
	c.t.Helper()
	n := c.node(id)
	done := make(chan error, 1)
	n.do(func() { done <- n.compact() })
	if err := <-done; err != nil {
		c.t.Fatal(err)
	}
}

// sameState waits until the nodes hold the same registers at the same applied index.
func (c *cluster) sameState(ids ...uint64) {
	c.t.Helper()
	deadline := time.Now().Add(waitHang)
	for time.Now().Before(deadline) {
		var want string
		var applied uint64
		same := true
		for i, id := range ids {
			b, _ := c.sm(id).Snapshot(0)
			a := c.node(id).Status().Applied
			if i == 0 {
				want, applied = string(b), a
			} else if string(b) != want || a != applied {
				same = false
			}
		}
		if same {
			return
		}
		time.Sleep(testTick)
	}
	c.t.Fatalf("nodes %v never held the same state", ids)
}

// TestC8_MembershipChangesOneAtATime: a new node joins as a learner, catches up, becomes a
// voter; then a founding node is removed and the cluster goes on without it.
func TestC8_MembershipChangesOneAtATime(t *testing.T) {
	c := newCluster(t, 3, 8)
	lead := c.leader()
	c.put(lead, "a", 1)
	ctx, cancel := context.WithTimeout(context.Background(), waitHang)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.node(lead).ProposeConfChange(ctx, confChange(raftpb.ConfChangeAddLearnerNode, 4), nil))
	c.stores[4] = NewMemStorage()
	c.start(4, nil)
	c.ids = append(c.ids, 4)
	c.sameState(c.ids...)
	if st := c.node(lead).Status(); !contains(st.Learners, 4) || contains(st.Voters, 4) {
		t.Fatalf("after adding node 4 as a learner: voters %v, learners %v", st.Voters, st.Learners)
	}
	must(c.node(lead).ProposeConfChange(ctx, confChange(raftpb.ConfChangeAddNode, 4), nil))
	if st := c.node(lead).Status(); !contains(st.Voters, 4) {
		t.Fatalf("node 4 was promoted, but the voters are %v", st.Voters)
	}
	victim := uint64(1)
	if victim == c.leader() {
		victim = 2
	}
	must(c.node(c.leader()).ProposeConfChange(ctx, confChange(raftpb.ConfChangeRemoveNode, victim), nil))
	c.crash(victim)
	var rest []uint64
	for _, id := range c.ids {
		if id != victim {
			rest = append(rest, id)
		}
	}
	c.ids = rest
	c.put(c.leader(rest...), "b", 2)
	c.sameState(rest...) // every remaining node has applied as far: the removal too
	if st := c.node(rest[0]).Status(); contains(st.Voters, victim) || len(st.Voters) != 3 {
		t.Fatalf("after removing node %d the voters are %v", victim, st.Voters)
	}
}

func confChange(t raftpb.ConfChangeType, id uint64) *raftpb.ConfChange {
	return &raftpb.ConfChange{Type: t.Enum(), NodeId: &id}
}

// TestC2_LinearizableUnderFaults records concurrent clients writing and reading through every
// node of 3- and 5-node clusters while the network drops, delays, reorders and duplicates
// messages, partitions come and go and nodes crash and restart, and checks the history with
// porcupine. Writes with an unknown outcome are recorded as such.
func TestC2_LinearizableUnderFaults(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := newCluster(t, size, int64(10+size))
			c.leader()
			h := runClients(c, true)
			if got := h.Check(time.Minute); got != porcupine.Ok {
				t.Fatalf("history of %d operations is %v", h.Len(), got)
			}
			t.Logf("%d operations linearizable", h.Len())
		})
	}
}

// TestC2_CheckerCatchesLocalReads breaks the system on purpose: reads served from a
// follower's own state without ReadIndex. A follower cut off from the leader then answers
// stale values, and the same checker must find the history not linearizable.
func TestC2_CheckerCatchesLocalReads(t *testing.T) {
	c := newCluster(t, 3, 20)
	lead := c.leader()
	c.put(lead, "k", 1)
	var follower uint64
	for _, id := range c.ids {
		if id != lead {
			follower = id
			break
		}
	}
	c.sameState(c.ids...)
	h := lincheck.New()
	c.net.partition([]uint64{follower}, []uint64{lead})
	w := h.Call(0, lincheck.Input{Write: true, Key: "k", Value: 2})
	c.put(lead, "k", 2)
	w.Ok(lincheck.Output{})
	r := h.Call(1, lincheck.Input{Key: "k"})
	r.Ok(lincheck.Output{Value: c.sm(follower).get("k")}) // the broken read: no ReadIndex
	if got := h.Check(time.Minute); got != porcupine.Illegal {
		t.Fatalf("local follower reads checked %v; the checker cannot tell a stale read", got)
	}
}

// runClients runs clients on every node under faults and returns their history.
func runClients(c *cluster, faults bool) *lincheck.History {
	h := lincheck.New()
	rng := rand.New(rand.NewSource(42))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for client := 0; client < 2*len(c.ids); client++ {
		id := c.ids[client%len(c.ids)]
		crng := rand.New(rand.NewSource(rng.Int63()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := 1; ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				n := c.node(id)
				if n == nil {
					time.Sleep(testTick)
					continue
				}
				key := fmt.Sprintf("k%d", crng.Intn(3))
				if crng.Intn(2) == 0 {
					op := h.Call(client, lincheck.Input{Write: true, Key: key, Value: client*100000 + v})
					ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
					_, err := n.Propose(ctx, []byte(fmt.Sprintf("put %s %d", key, client*100000+v)))
					cancel()
					switch {
					case err == nil:
						op.Ok(lincheck.Output{})
					case errors.Is(err, ErrBusy):
						op.Failed()
					default:
						op.Unknown()
					}
					continue
				}
				op := h.Call(client, lincheck.Input{Key: key})
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				err := n.Read(ctx)
				cancel()
				sm := c.sm(id)
				if err != nil || c.node(id) != n {
					op.Failed()
					continue
				}
				op.Ok(lincheck.Output{Value: sm.get(key)})
			}
		}()
	}
	if faults {
		injectFaults(c, rng)
	} else {
		time.Sleep(time.Second)
	}
	close(stop)
	wg.Wait()
	return h
}

// injectFaults runs a fixed number of fault steps, each from the seeded RNG: message faults,
// a partition (symmetric or one-way) healed after a while, a crash and restart.
func injectFaults(c *cluster, rng *rand.Rand) {
	c.net.setFaults(0.05, 0.05, 3*testTick)
	for step := 0; step < 12; step++ {
		time.Sleep(time.Duration(20+rng.Intn(60)) * testTick)
		switch rng.Intn(3) {
		case 0:
			a := c.ids[rng.Intn(len(c.ids))]
			var rest []uint64
			for _, id := range c.ids {
				if id != a {
					rest = append(rest, id)
				}
			}
			c.net.partition([]uint64{a}, rest)
		case 1:
			from, to := c.ids[rng.Intn(len(c.ids))], c.ids[rng.Intn(len(c.ids))]
			if from != to {
				c.net.cutOneWay(from, to)
			}
		case 2:
			id := c.ids[rng.Intn(len(c.ids))]
			c.crash(id)
			time.Sleep(time.Duration(10+rng.Intn(40)) * testTick)
			c.start(id, c.ids)
		}
		time.Sleep(time.Duration(20+rng.Intn(60)) * testTick)
		c.net.heal()
	}
	c.net.setFaults(0, 0, 0)
	c.leader()
}

// TestC3_CheckerCatchesAnOKBeforeTheFsync breaks the system on purpose: storage that
// acknowledges a save but keeps nothing across a crash, as an OK before the majority's fsync
// would. Writes are acknowledged, every node crashes and restarts, and a read then misses
// them: the same checker must find the history not linearizable (the durable log passes the
// same crash: TestC3_AcknowledgedSurvivesEveryNodeCrashing).
func TestC3_CheckerCatchesAnOKBeforeTheFsync(t *testing.T) {
	c := newClusterOn(t, 3, 21, func(uint64) Storage { return NewMemStorage() }) // nothing survives a crash
	h := lincheck.New()
	lead := c.leader()
	w := h.Call(0, lincheck.Input{Write: true, Key: "k", Value: 7})
	c.put(lead, "k", 7)
	w.Ok(lincheck.Output{})
	for _, id := range c.ids {
		c.crash(id)
	}
	for _, id := range c.ids {
		c.start(id, c.ids)
	}
	r := h.Call(1, lincheck.Input{Key: "k"})
	v, err := c.get(c.leader(), "k")
	if err != nil {
		t.Fatal(err)
	}
	r.Ok(lincheck.Output{Value: v})
	if got := h.Check(time.Minute); got != porcupine.Illegal {
		t.Fatalf("a write lost by a crash after its OK checked %v (read %d); the checker cannot tell lost writes", got, v)
	}
}
