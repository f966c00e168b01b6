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

// take hands over everything in order and frees the room it held.
func TestQueue_TakeEmpties(t *testing.T) {
	q := newQueue(2, 10)
	q.push(encoded("ab"))
	q.push(encoded("cd"))
	<-q.ready
	got := q.take(nil)
	if len(got) != 2 || string(got[0]) != "ab" || string(got[1]) != "cd" {
		t.Fatalf("took %q", got)
	}
	if m, b := q.len(); m != 0 || b != 0 {
		t.Fatalf("left %d messages, %d bytes", m, b)
	}
	if !q.push(encoded("0123456789")) {
		t.Fatal("room not freed by take")
	}
}
