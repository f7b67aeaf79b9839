package session

import (
	"bytes"
	"sync"
)

// chunkSize is the unit the ring holds output in. Chunks come from a pool shared by every session, so a
// session holds memory for what it keeps, not for what it might keep, and a burst's chunks are reused by the
// next one instead of each session keeping its own high-water mark.
const chunkSize = 16 << 10

// chunk is one block of ring memory. Readers (clients, the emulator) may borrow a slice of it to use without
// the session lock; a chunk released from the ring while borrowed goes back to the pool only when returned.
type chunk struct {
	data     *[chunkSize]byte // apart, so it fills its size class exactly (with the fields, 2 KiB more)
	newlines int              // in the committed bytes, so finding the n-th last line start skips whole chunks
	lent     int
	released bool
}

var newline = []byte{'\n'}

var chunkPool = sync.Pool{New: func() any { return &chunk{data: new([chunkSize]byte)} }}

// ring keeps recent output bytes with absolute offsets: it holds [start, written), at most limit bytes, and
// release drops the bytes no reader needs any more. Its methods need the session lock; the slices tail and
// lend hand out may be used without it.
type ring struct {
	chunks  []*chunk // chunks[i] holds offsets [base+i*chunkSize, base+(i+1)*chunkSize)
	base    uint64   // offset of chunks[0].data[0], a multiple of chunkSize
	start   uint64
	written uint64 // total bytes ever written
	// lineStart is the offset after the last newline written, so a replay need not scan a long last line.
	lineStart uint64
	limit     int
	filling   bool // the PTY reader is reading into tail's slice
}

func newRing(limit int) *ring { return &ring{limit: limit} }

// oldest is the offset of the oldest byte still held.
func (r *ring) oldest() uint64 { return r.start }

// tail returns the free space after the last written byte, up to the end of its chunk, for the PTY reader
// to read into directly; commit then makes what it read part of the ring.
func (r *ring) tail() []byte {
	if r.written == r.base+uint64(len(r.chunks))*chunkSize {
		c := chunkPool.Get().(*chunk)
		c.newlines, c.lent, c.released = 0, 0, false
		r.chunks = append(r.chunks, c)
	}
	r.filling = true
	return r.chunks[(r.written-r.base)/chunkSize].data[r.written%chunkSize:]
}

// commit appends the first n bytes of the slice tail returned.
func (r *ring) commit(n int) {
	r.filling = false
	if n == 0 {
		return
	}
	seg := r.segment(r.written, r.written+uint64(n))
	if newlines := bytes.Count(seg, newline); newlines > 0 {
		r.chunks[len(r.chunks)-1].newlines += newlines
		r.lineStart = r.written + uint64(bytes.LastIndexByte(seg, '\n')+1)
	}
	r.written += uint64(n)
	if r.written-r.start > uint64(r.limit) {
		r.release(r.written - uint64(r.limit))
	}
}

// write appends p.
func (r *ring) write(p []byte) {
	for len(p) > 0 {
		n := copy(r.tail(), p)
		r.commit(n)
		p = p[n:]
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
		r.recycle(r.chunks[i])
		r.chunks[i] = nil
	}
	r.chunks = append(r.chunks[:0], r.chunks[drop:]...)
	r.base += uint64(drop) * chunkSize
}

func (r *ring) recycle(c *chunk) {
	if c.lent > 0 {
		c.released = true
		return
	}
	chunkPool.Put(c)
}

// free gives up every chunk; the ring must not be used afterwards. A chunk the PTY reader is filling is left
// to the garbage collector.
func (r *ring) free() {
	r.release(r.written)
	for i, c := range r.chunks {
		if !r.filling || i < len(r.chunks)-1 {
			r.recycle(c)
		}
		r.chunks[i] = nil
	}
	r.chunks = nil
}

// lend returns the held bytes from off (≥ oldest()) up to the end of off's chunk or the written end, and the
// chunk to give back once they have been used.
func (r *ring) lend(off uint64) ([]byte, *chunk) {
	c := r.chunks[(off-r.base)/chunkSize]
	c.lent++
	return r.segment(off, r.written), c
}

// giveBack ends a loan from lend.
func (r *ring) giveBack(c *chunk) {
	if c == nil {
		return
	}
	c.lent--
	if c.lent == 0 && c.released {
		c.released = false
		chunkPool.Put(c)
	}
}

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
	return c.data[at:end]
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

// nthLastNewline returns the offset of the n-th newline (n ≥ 1) counting back from to, in [from, to), or false.
func (r *ring) nthLastNewline(from, to uint64, n int) (uint64, bool) {
	for to > from {
		segStart := max(from, to-1-(to-1)%chunkSize)
		if count := r.newlinesIn(segStart, to); count < n {
			n -= count
			to = segStart
			continue
		}
		seg := r.segment(segStart, to)
		for {
			i := bytes.LastIndexByte(seg, '\n')
			if n--; n == 0 {
				return segStart + uint64(i), true
			}
			seg = seg[:i]
		}
	}
	return 0, false
}

// countNewlines returns how many newlines [from, to) holds.
func (r *ring) countNewlines(from, to uint64) int {
	count := 0
	for from < to {
		end := min(to, from-from%chunkSize+chunkSize)
		count += r.newlinesIn(from, end)
		from = end
	}
	return count
}

// newlinesIn counts the newlines of [from, to), which lie in one chunk: from the chunk's count when that is
// every byte committed to it.
func (r *ring) newlinesIn(from, to uint64) int {
	seg := r.segment(from, to)
	if from%chunkSize == 0 && (len(seg) == chunkSize || to == r.written) {
		return r.chunks[(from-r.base)/chunkSize].newlines
	}
	return bytes.Count(seg, newline)
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
