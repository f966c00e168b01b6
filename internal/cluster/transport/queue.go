package transport

import "sync"

// queue holds the encoded messages waiting for one peer's stream, bounded in messages and in
// bytes. push never blocks: when either bound would be passed the message is refused, and the
// caller drops it (Raft retransmits what matters). One consumer takes a frame's worth at a time.
type queue struct {
	maxMsgs, maxBytes int

	mu    sync.Mutex
	items []encoded
	bytes int
	ready chan struct{} // one token while items is not empty
}

func newQueue(maxMsgs, maxBytes int) *queue {
	return &queue{maxMsgs: maxMsgs, maxBytes: maxBytes, ready: make(chan struct{}, 1)}
}

// push queues b, or reports false when the queue is full.
func (q *queue) push(b encoded) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items)+1 > q.maxMsgs || q.bytes+len(b) > q.maxBytes {
		return false
	}
	q.items = append(q.items, b)
	q.bytes += len(b)
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns the oldest queued messages, as many as fit in limit bytes (at least one), and
// leaves a token in ready if any remain. The consumer calls it after a token from ready; an
// empty result is a token left by an earlier take. Taking one frame's worth at a time keeps
// what is in flight to one frame beyond the queue's bounds.
func (q *queue) take(into []encoded, limit int) []encoded {
	q.mu.Lock()
	defer q.mu.Unlock()
	into = into[:0]
	if len(q.items) == 0 {
		return into
	}
	n, size := 1, len(q.items[0])
	for n < len(q.items) && size+len(q.items[n]) <= limit {
		size += len(q.items[n])
		n++
	}
	into = append(into, q.items[:n]...)
	left := copy(q.items, q.items[n:])
	clear(q.items[left:])
	q.items = q.items[:left]
	q.bytes -= size
	if left > 0 {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return into
}

// len reports the queued messages and bytes.
func (q *queue) len() (msgs, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.bytes
}
