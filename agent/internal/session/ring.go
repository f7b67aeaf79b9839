package session

// ring keeps the most recent output bytes with absolute offsets. It grows on demand up to its capacity, so an
// idle session holds little memory, and afterwards overwrites the oldest bytes.
type ring struct {
	buf     []byte
	limit   int
	written uint64 // total bytes ever written; the ring holds [written-len, written)
}

const initialRingSize = 16 << 10

func newRing(limit int) *ring { return &ring{limit: limit} }

// oldest is the offset of the oldest byte still held.
func (r *ring) oldest() uint64 {
	if r.written < uint64(len(r.buf)) {
		return 0
	}
	return r.written - uint64(len(r.buf))
}

func (r *ring) write(p []byte) {
	// Growth only happens before the first wrap, so the data is still at buf[:written].
	if len(r.buf) < r.limit && r.written+uint64(len(p)) > uint64(len(r.buf)) {
		size := min(r.limit, max(initialRingSize, 2*len(r.buf), int(r.written)+len(p)))
		next := make([]byte, size)
		copy(next, r.buf[:r.written])
		r.buf = next
	}
	if len(p) > len(r.buf) {
		skip := len(p) - len(r.buf)
		r.written += uint64(skip)
		p = p[skip:]
	}
	for len(p) > 0 {
		at := int(r.written % uint64(len(r.buf)))
		n := copy(r.buf[at:], p)
		p = p[n:]
		r.written += uint64(n)
	}
}

// readAt copies bytes starting at offset off into dst and returns how many; off must be ≥ oldest().
func (r *ring) readAt(dst []byte, off uint64) int {
	total := 0
	for len(dst) > 0 && off < r.written {
		at := int(off % uint64(len(r.buf)))
		end := len(r.buf)
		if avail := r.written - off; uint64(end-at) > avail {
			end = at + int(avail)
		}
		n := copy(dst, r.buf[at:end])
		dst = dst[n:]
		off += uint64(n)
		total += n
	}
	return total
}

// segments returns the ring memory holding [from, to) as at most two slices, oldest first, without copying.
func (r *ring) segments(from, to uint64) (first, second []byte) {
	if from >= to {
		return nil, nil
	}
	size := uint64(len(r.buf))
	start, end := from%size, to%size
	if end == 0 {
		end = size
	}
	if start < end {
		return r.buf[start:end], nil
	}
	return r.buf[start:], r.buf[:end]
}
