package datasets

import (
	"testing"
	"unsafe"
)

// TestPoolAllocatorRecyclesZeroedBuffers checks the allocator's contract with Arrow: asked
// length, 64-byte alignment, every byte zero even when the buffer is a recycled dirty one,
// content kept by Reallocate, and a freed buffer handed out again.
func TestPoolAllocatorRecyclesZeroedBuffers(t *testing.T) {
	p := &poolAllocator{}
	for _, size := range []int{0, 1, 63, 64, 65, 1000, 1 << 16, 3<<20 + 5} {
		b := p.Allocate(size)
		if len(b) != size || cap(b) < size || (cap(b)&(cap(b)-1)) != 0 {
			t.Fatalf("Allocate(%d): len %d cap %d, want len %d and a power-of-two cap", size, len(b), cap(b), size)
		}
		if uintptr(unsafe.Pointer(unsafe.SliceData(b[:cap(b)])))%64 != 0 {
			t.Fatalf("Allocate(%d) is not 64-byte aligned", size)
		}
		full := b[:cap(b)]
		for i := range full {
			if full[i] != 0 {
				t.Fatalf("Allocate(%d): byte %d is %d, want 0", size, i, full[i])
			}
			full[i] = 0xAB // dirty it for the next round
		}
		p.Free(b)
		again := p.Allocate(size)
		for i, v := range again[:cap(again)] {
			if v != 0 {
				t.Fatalf("recycled Allocate(%d): byte %d is %d, want 0", size, i, v)
			}
		}
		p.Free(again)
	}
	b := p.Allocate(100)
	for i := range b {
		b[i] = byte(i)
	}
	grown := p.Reallocate(5000, b)
	if len(grown) != 5000 {
		t.Fatalf("Reallocate: len %d", len(grown))
	}
	for i := 0; i < 100; i++ {
		if grown[i] != byte(i) {
			t.Fatalf("Reallocate lost byte %d", i)
		}
	}
	// A slice that is not one of the allocator's buffers is ignored, not pooled.
	p.Free(make([]byte, 10, 100))
}
