package session

import (
	"bytes"
	"testing"
)

func TestRingKeepsNewestBytes(t *testing.T) {
	r := newRing(10)
	r.write([]byte("abcdef"))
	r.write([]byte("ghijklmn"))
	got := make([]byte, 10)
	n := r.readAt(got, r.oldest())
	if string(got[:n]) != "efghijklmn" || r.oldest() != 4 {
		t.Fatalf("ring = %q oldest %d", got[:n], r.oldest())
	}
	r.write([]byte("0123456789ABC"))
	n = r.readAt(got, r.oldest())
	if string(got[:n]) != "3456789ABC" || r.written != 27 {
		t.Fatalf("ring = %q written %d", got[:n], r.written)
	}
}

func TestNthLastNewlineMatchesAScan(t *testing.T) {
	r := newRing(3 * chunkSize)
	var all []byte
	for i := range 5000 {
		line := append(bytes.Repeat([]byte{'a'}, i*7%40), '\n')
		r.write(line)
		all = append(all, line...)
	}
	from := r.oldest()
	held := all[len(all)-int(r.written-from):]
	for _, to := range []uint64{r.written, r.written - 1, r.written - chunkSize, from + 100} {
		for _, n := range []int{1, 2, 50, 400, 5000} {
			want, wantOK := uint64(0), false
			seg := held[:to-from]
			for k := n; k > 0; k-- {
				i := bytes.LastIndexByte(seg, '\n')
				if i < 0 {
					break
				}
				if k == 1 {
					want, wantOK = from+uint64(i), true
				}
				seg = seg[:i]
			}
			got, ok := r.nthLastNewline(from, to, n)
			if got != want || ok != wantOK {
				t.Fatalf("nthLastNewline(to %d, n %d) = %d %v, want %d %v", to, n, got, ok, want, wantOK)
			}
		}
	}
}
