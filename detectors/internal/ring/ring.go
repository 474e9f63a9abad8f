// Package ring is a first-in first-out queue on a growable ring buffer, for the detectors' expiry
// queues (orders by placement time, accounts by last activity). A slice used as a queue
// (append at the back, re-slice or compact at the front) copies its live part again and again;
// the ring copies only when it grows, so a queue whose length levels off stops copying and
// allocating.
package ring

// Queue is a FIFO of T. The zero value is an empty queue ready to use.
type Queue[T any] struct {
	buf  []T // len(buf) is 0 or a power of two
	head int // index of the front in buf
	n    int
}

// Len is the number of elements queued.
func (q *Queue[T]) Len() int { return q.n }

// Push adds x at the back.
func (q *Queue[T]) Push(x T) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = x
	q.n++
}

// Front returns a pointer to the oldest element; the queue must not be empty. The pointer is
// valid until the next Push or Pop.
func (q *Queue[T]) Front() *T { return &q.buf[q.head] }

// At returns a pointer to the i-th oldest element (0 is the front), 0 <= i < Len().
func (q *Queue[T]) At(i int) *T { return &q.buf[(q.head+i)&(len(q.buf)-1)] }

// Pop removes the oldest element and returns it; the queue must not be empty. The slot is
// zeroed so that the queue holds no reference to what was popped.
func (q *Queue[T]) Pop() T {
	var zero T
	x := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return x
}

func (q *Queue[T]) grow() {
	size := max(16, 2*len(q.buf))
	buf := make([]T, size)
	// Unwrap: the front lands at index 0.
	k := copy(buf, q.buf[q.head:])
	copy(buf[k:], q.buf[:q.head])
	q.buf, q.head = buf, 0
}
