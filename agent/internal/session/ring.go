package session

import (
	"bytes"
	"sync"
)

// chunkSize is the unit the ring holds output in. Chunks come from a pool shared by every session, so a
// session holds memory for what it keeps, not for what it might keep, and a burst's chunks are reused by the
// next one instead of each session keeping its own high-water mark.
const chunkSize = 16 << 10

type chunk = [chunkSize]byte

var chunkPool = sync.Pool{New: func() any { return new(chunk) }}

// ring keeps recent output bytes with absolute offsets: it holds [start, written), at most limit bytes, and
// release drops the bytes no reader needs any more.
type ring struct {
	chunks  []*chunk // chunks[i] holds offsets [base+i*chunkSize, base+(i+1)*chunkSize)
	base    uint64   // offset of chunks[0][0], a multiple of chunkSize
	start   uint64
	written uint64 // total bytes ever written
	// lineStart is the offset after the last newline written, so a replay need not scan a long last line.
	lineStart uint64
	limit     int
}

func newRing(limit int) *ring { return &ring{limit: limit} }

// oldest is the offset of the oldest byte still held.
func (r *ring) oldest() uint64 { return r.start }

func (r *ring) write(p []byte) {
	if j := bytes.LastIndexByte(p, '\n'); j >= 0 {
		r.lineStart = r.written + uint64(j+1)
	}
	for len(p) > 0 {
		at := int(r.written % chunkSize)
		if at == 0 && r.written == r.base+uint64(len(r.chunks))*chunkSize {
			r.chunks = append(r.chunks, chunkPool.Get().(*chunk))
		}
		n := copy(r.chunks[len(r.chunks)-1][at:], p)
		p = p[n:]
		r.written += uint64(n)
	}
	if r.written-r.start > uint64(r.limit) {
		r.release(r.written - uint64(r.limit))
	}
}

// release forgets the bytes before off and returns the chunks that held only those to the pool.
func (r *ring) release(off uint64) {
	r.start = max(r.start, min(off, r.written))
	drop := int((r.start - r.base) / chunkSize)
	if drop == 0 {
		return
	}
	for i := range drop {
		chunkPool.Put(r.chunks[i])
		r.chunks[i] = nil
	}
	r.chunks = append(r.chunks[:0], r.chunks[drop:]...)
	r.base += uint64(drop) * chunkSize
}

// free returns every chunk to the pool; the ring is empty afterwards.
func (r *ring) free() { r.release(r.written) }

// readAt copies bytes starting at offset off into dst and returns how many; off must be ≥ oldest().
func (r *ring) readAt(dst []byte, off uint64) int {
	total := 0
	for len(dst) > 0 && off < r.written {
		seg := r.segment(off, r.written)
		n := copy(dst, seg)
		dst = dst[n:]
		off += uint64(n)
		total += n
	}
	return total
}

// segment returns the ring memory holding the start of [from, to): up to the end of from's chunk.
func (r *ring) segment(from, to uint64) []byte {
	c := r.chunks[(from-r.base)/chunkSize]
	at := from % chunkSize
	end := min(chunkSize, at+(to-from))
	return c[at:end]
}

// lastIndexByte returns the offset of the last b in [from, to), or false.
func (r *ring) lastIndexByte(from, to uint64, b byte) (uint64, bool) {
	for to > from {
		segStart := max(from, to-1-(to-1)%chunkSize)
		if i := bytes.LastIndexByte(r.segment(segStart, to), b); i >= 0 {
			return segStart + uint64(i), true
		}
		to = segStart
	}
	return 0, false
}

// indexByte returns the offset of the first b in [from, to), or false.
func (r *ring) indexByte(from, to uint64, b byte) (uint64, bool) {
	for from < to {
		seg := r.segment(from, to)
		if i := bytes.IndexByte(seg, b); i >= 0 {
			return from + uint64(i), true
		}
		from += uint64(len(seg))
	}
	return 0, false
}
