package screen

// Resize changes the screen size, keeping the bottom of the screen near the cursor as terminals do.
func (s *Screen) Resize(cols, rows int) {
	cols, rows = max(cols, 1), max(rows, 1)
	if cols == s.cols && rows == s.rows {
		return
	}
	drop := 0
	if rows < s.rows && s.cur.y >= rows {
		drop = s.cur.y - rows + 1
	}
	resizeBuffer := func(b *buffer, drop int) {
		if b.lines == nil {
			return // an alternate screen never used
		}
		next := newLines(cols, rows)
		for y := range next {
			src := y + drop
			if src < len(b.lines) {
				copy(next[y], b.lines[src])
			}
		}
		b.lines = next
		b.saved.x = min(b.saved.x, cols-1)
		b.saved.y = clamp(b.saved.y-drop, 0, rows-1)
	}
	altDrop, mainDrop := 0, 0
	if s.altActive {
		altDrop = drop
	} else {
		mainDrop = drop
	}
	resizeBuffer(&s.main, mainDrop)
	resizeBuffer(&s.alt, altDrop)
	if s.altActive {
		s.buf = &s.alt
	} else {
		s.buf = &s.main
	}
	s.cols, s.rows = cols, rows
	s.cur.y = clamp(s.cur.y-drop, 0, rows-1)
	s.cur.x = min(s.cur.x, cols-1)
	s.cur.wrapPending = false
	s.altSaved.x = min(s.altSaved.x, cols-1)
	s.altSaved.y = min(s.altSaved.y, rows-1)
	s.top, s.bot = 0, rows-1
	tabs := make([]bool, cols)
	for x := 8; x < cols; x += 8 {
		tabs[x] = true
	}
	s.tabs = tabs
}
