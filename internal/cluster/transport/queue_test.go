package transport

import "testing"

func TestQueue_Bounds(t *testing.T) {
	cases := []struct {
		name       string
		maxMsgs    int
		maxBytes   int
		sizes      []int
		wantPushed []bool
	}{
		{"under both caps", 3, 100, []int{10, 10, 10}, []bool{true, true, true}},
		{"message cap", 2, 100, []int{1, 1, 1}, []bool{true, true, false}},
		{"byte cap", 10, 25, []int{10, 10, 10, 5}, []bool{true, true, false, true}},
		{"one message of exactly the byte cap", 10, 25, []int{25, 1}, []bool{true, false}},
		{"larger than the byte cap", 10, 25, []int{26}, []bool{false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQueue(c.maxMsgs, c.maxBytes)
			for i, n := range c.sizes {
				if got := q.push(make(encoded, n)); got != c.wantPushed[i] {
					t.Fatalf("push %d (%d bytes): %v, want %v", i, n, got, c.wantPushed[i])
				}
				if m, b := q.len(); m > c.maxMsgs || b > c.maxBytes {
					t.Fatalf("queue at %d messages, %d bytes", m, b)
				}
			}
		})
	}
}

// take hands over the oldest frame's worth in order, at least one message, frees the room it
// held, and leaves a token while messages remain.
func TestQueue_Take(t *testing.T) {
	q := newQueue(10, 100)
	for _, m := range []string{"ab", "cd", "0123456789", "ef"} {
		q.push(encoded(m))
	}
	<-q.ready
	steps := []struct {
		limit int
		want  []string
	}{
		{4, []string{"ab", "cd"}},
		{4, []string{"0123456789"}}, // larger than the limit: alone
		{4, []string{"ef"}},
	}
	for i, st := range steps {
		got := q.take(nil, st.limit)
		if len(got) != len(st.want) {
			t.Fatalf("take %d: %q, want %q", i, got, st.want)
		}
		for j := range got {
			if string(got[j]) != st.want[j] {
				t.Fatalf("take %d: %q, want %q", i, got, st.want)
			}
		}
		_, b := q.len()
		select {
		case <-q.ready:
			if b == 0 {
				t.Fatalf("take %d: a token left with nothing queued", i)
			}
		default:
			if b != 0 {
				t.Fatalf("take %d: %d bytes queued and no token", i, b)
			}
		}
	}
	if got := q.take(nil, 4); len(got) != 0 {
		t.Fatalf("an empty queue gave %q", got)
	}
	if !q.push(make(encoded, 100)) {
		t.Fatal("room not freed by take")
	}
}
