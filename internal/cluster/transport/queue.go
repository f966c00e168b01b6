package transport

import "sync"

// queue holds the encoded messages waiting for one peer's stream, bounded in messages and in
// bytes. push never blocks: when either bound would be passed the message is refused, and the
// caller drops it (Raft retransmits what matters). One consumer takes everything at once.
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

// take returns every queued message, oldest first, and empties the queue. The consumer calls
// it after a token from ready.
func (q *queue) take(into []encoded) []encoded {
	q.mu.Lock()
	defer q.mu.Unlock()
	into = append(into[:0], q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.bytes = 0
	return into
}

// len reports the queued messages and bytes.
func (q *queue) len() (msgs, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.bytes
}
