package wal

import (
	"errors"
	"sync"
	"testing"
)

func TestTicketOutcomes(t *testing.T) {
	if !(Ticket{}).Ready() || (Ticket{}).Wait() != nil {
		t.Fatal("zero ticket must be resolved with no error")
	}
	g := newGroup()
	t1, t2, t3 := Ticket{g, 1}, Ticket{g, 2}, Ticket{g, 3}
	if t1.Ready() {
		t.Fatal("ticket ready before its batch resolved")
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, tk := range []Ticket{t1, t2, t3} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = tk.Wait() }()
	}
	g.resolve(1)
	boom := errors.New("boom")
	g.fail(2, boom)
	g.fail(3, errors.New("later failures do not replace the first"))
	wg.Wait()
	if errs[0] != nil || !errors.Is(errs[1], boom) || !errors.Is(errs[2], ErrLogFailed) {
		t.Fatalf("outcomes %v", errs)
	}
	if !t3.Ready() {
		t.Fatal("failed ticket not ready")
	}
}
