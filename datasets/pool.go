package datasets

import (
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// poolAllocator is the memory.Allocator of the Parquet readers: it recycles the buffers of
// released Arrow batches instead of leaving them to the garbage collector. pqarrow allocates
// fresh buffers for every batch of every column (about 200 bytes per orders row); with Go's
// allocator each of them is a large allocation cleared from fresh pages and later collected.
// Recycling them keeps a reader's memory warm in cache and flat.
//
// Buffers come in power-of-two capacities of at least 64 bytes (Go places power-of-two objects
// at multiples of their size, so they are 64-byte aligned as Arrow wants). Allocate returns a
// slice of the asked length whose capacity is the whole buffer, every byte zero, as Go's
// allocator gives; Free recognises the buffer by that capacity. The free lists are sync.Pools,
// so buffers nobody reuses are dropped by the next garbage collections.
type poolAllocator struct {
	classes [64]sync.Pool
}

// readAllocator is shared by every reader: its pools are safe for concurrent use.
var readAllocator = &poolAllocator{}

// minPoolClass is the smallest buffer handed out: 64 bytes.
const minPoolClass = 6

func poolClass(size int) int {
	if size <= 1<<minPoolClass {
		return minPoolClass
	}
	return bits.Len(uint(size - 1))
}

// Allocate implements memory.Allocator.
func (p *poolAllocator) Allocate(size int) []byte {
	c := poolClass(size)
	if v := p.classes[c].Get(); v != nil {
		buf := *(v.(*[]byte))
		clear(buf[:cap(buf)])
		return buf[:size]
	}
	return make([]byte, size, 1<<c)
}

// Reallocate implements memory.Allocator.
func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free implements memory.Allocator. A slice that is not a whole buffer of this allocator (its
// capacity not a power of two) is left to the garbage collector.
func (p *poolAllocator) Free(b []byte) {
	n := cap(b)
	if n < 1<<minPoolClass || n&(n-1) != 0 {
		return
	}
	b = b[:n]
	p.classes[bits.Len(uint(n))-1].Put(&b)
}

var _ memory.Allocator = (*poolAllocator)(nil)
