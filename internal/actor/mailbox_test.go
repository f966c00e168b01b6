package actor

import "testing"

func TestMailbox(t *testing.T) {
	cases := []struct {
		name      string
		capacity  int
		pushes    int
		force     int
		wantOK    int
		wantSched int // pushes that must schedule the actor
	}{
		{"empty to one", 4, 1, 0, 1, 1},
		{"fills to capacity", 4, 6, 0, 4, 1},
		{"capacity one", 1, 3, 0, 1, 1},
		{"forced past the bound", 2, 2, 3, 5, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &mailbox{capacity: c.capacity}
			ok, sched := 0, 0
			for i := 0; i < c.pushes+c.force; i++ {
				accepted, schedule, depth := b.push(Message{TS: int64(i)}, i >= c.pushes)
				if accepted {
					ok++
				} else if depth < c.capacity {
					t.Fatalf("refused at depth %d below capacity %d", depth, c.capacity)
				}
				if schedule {
					sched++
				}
			}
			if ok != c.wantOK || sched != c.wantSched || b.depth() != c.wantOK {
				t.Fatalf("accepted %d scheduled %d depth %d; want %d %d %d", ok, sched, b.depth(), c.wantOK, c.wantSched, c.wantOK)
			}
			batch := b.take()
			for i, m := range batch {
				if m.TS != int64(i) {
					t.Fatalf("message %d out of order: ts %d", i, m.TS)
				}
			}
			if b.depth() != 0 {
				t.Fatal("taken batch still counted")
			}
			if more := b.finish(batch); more {
				t.Fatal("finish reports mail that never came")
			}
			if _, schedule, _ := b.push(Message{}, false); !schedule {
				t.Fatal("idle actor not rescheduled by new mail")
			}
		})
	}
}

func TestMailboxMailDuringBatch(t *testing.T) {
	b := &mailbox{capacity: 2}
	b.push(Message{}, false)
	batch := b.take()
	// While the batch runs the queue takes a full capacity again: the running batch is not
	// counted, and the actor stays scheduled (no second schedule).
	for i := 0; i < 2; i++ {
		ok, schedule, _ := b.push(Message{}, false)
		if !ok || schedule {
			t.Fatalf("push %d during batch: ok=%v schedule=%v", i, ok, schedule)
		}
	}
	if ok, _, _ := b.push(Message{}, false); ok {
		t.Fatal("queue exceeded its capacity")
	}
	if !b.finish(batch) {
		t.Fatal("mail that came during the batch was not reported")
	}
}
