package screen

import "github.com/mattn/go-runewidth"

// printRune prints a decoded character at its display width.
func (s *Screen) printRune(r rune) {
	w := runewidth.RuneWidth(r)
	if w == 0 {
		return // combining marks and zero-width characters are not kept
	}
	s.print(r, w)
}

var decGraphics = map[rune]rune{
	'`': '◆', 'a': '▒', 'f': '°', 'g': '±', 'j': '┘', 'k': '┐', 'l': '┌', 'm': '└', 'n': '┼',
	'o': '⎺', 'p': '⎻', 'q': '─', 'r': '⎼', 's': '⎽', 't': '├', 'u': '┤', 'v': '┴', 'w': '┬',
	'x': '│', 'y': '≤', 'z': '≥', '{': 'π', '|': '≠', '}': '£', '~': '·',
}

func (s *Screen) print(r rune, w int) {
	if s.cur.graphics[s.cur.gl] && r < 0x80 {
		if g, ok := decGraphics[r]; ok {
			r = g
		}
	}
	s.lastRune = r
	if s.cur.wrapPending {
		if s.mode.autowrap {
			s.cur.x = 0
			s.lineFeed()
		}
		s.cur.wrapPending = false
	}
	if w == 2 && s.cur.x == s.cols-1 {
		if s.mode.autowrap {
			s.buf.lines[s.cur.y][s.cur.x] = cell{r: ' ', pen: s.cur.pen}
			s.cur.x = 0
			s.lineFeed()
		} else {
			return
		}
	}
	line := s.buf.lines[s.cur.y]
	if s.mode.insert {
		copy(line[s.cur.x+w:], line[s.cur.x:])
	}
	s.clearWideAt(line, s.cur.x)
	line[s.cur.x] = cell{r: r, pen: s.cur.pen}
	if w == 2 {
		s.clearWideAt(line, s.cur.x+1)
		line[s.cur.x+1] = cell{r: 0, pen: pen{fg: s.cur.pen.fg, bg: s.cur.pen.bg, flags: s.cur.pen.flags | attrWideCont}}
	}
	if s.cur.x+w >= s.cols {
		s.cur.x = s.cols - 1
		s.cur.wrapPending = true
	} else {
		s.cur.x += w
	}
}

// printASCII prints a run of printable ASCII a row segment at a time; it is print unrolled for the common case.
func (s *Screen) printASCII(run []byte) {
	if s.mode.insert || s.cur.graphics[s.cur.gl] {
		for _, b := range run {
			s.print(rune(b), 1)
		}
		return
	}
	for len(run) > 0 {
		if s.cur.wrapPending {
			if s.mode.autowrap {
				s.cur.x = 0
				s.lineFeed()
			}
			s.cur.wrapPending = false
		}
		line := s.buf.lines[s.cur.y]
		x := s.cur.x
		n := min(len(run), s.cols-x)
		s.clearWideAt(line, x)
		p := s.cur.pen
		seg := line[x : x+n]
		for i := range seg {
			seg[i] = cell{r: rune(run[i]), pen: p}
		}
		if x+n < s.cols && line[x+n].flags&attrWideCont != 0 {
			line[x+n] = cell{r: ' ', pen: pen{fg: line[x+n].fg, bg: line[x+n].bg}}
		}
		s.lastRune = rune(run[n-1])
		run = run[n:]
		if x+n >= s.cols {
			s.cur.x = s.cols - 1
			s.cur.wrapPending = true
		} else {
			s.cur.x = x + n
		}
	}
}

// clearWideAt blanks the other half of a wide character that x is part of.
func (s *Screen) clearWideAt(line []cell, x int) {
	if x >= len(line) {
		return
	}
	if line[x].flags&attrWideCont != 0 && x > 0 {
		line[x-1] = cell{r: ' ', pen: line[x-1].pen}
	} else if x+1 < len(line) && line[x+1].flags&attrWideCont != 0 {
		line[x+1] = cell{r: ' ', pen: pen{fg: line[x+1].fg, bg: line[x+1].bg}}
	}
}

func (s *Screen) tab(n int) {
	for ; n > 0 && s.cur.x < s.cols-1; n-- {
		s.cur.x++
		for s.cur.x < s.cols-1 && !s.tabs[s.cur.x] {
			s.cur.x++
		}
	}
	s.cur.wrapPending = false
}

func (s *Screen) lineFeed() {
	s.cur.wrapPending = false
	if s.cur.y == s.bot {
		s.scrollUp(s.top, s.bot, 1)
	} else if s.cur.y < s.rows-1 {
		s.cur.y++
	}
}

func (s *Screen) reverseIndex() {
	s.cur.wrapPending = false
	if s.cur.y == s.top {
		s.scrollDown(s.top, s.bot, 1)
	} else if s.cur.y > 0 {
		s.cur.y--
	}
}

func (s *Screen) blankCell() cell { return cell{r: ' ', pen: pen{bg: s.cur.pen.bg}} }

// fill blanks l with the current background, copying from a cached blank row rather than cell by cell.
func (s *Screen) fill(l []cell) {
	b := s.blankCell()
	if len(s.blankRow) < len(l) {
		s.blankRow = make([]cell, max(s.cols, len(l)))
		s.blankRow[0] = cell{r: -1}
	}
	if s.blankRow[0] != b {
		for i := range s.blankRow {
			s.blankRow[i] = b
		}
	}
	copy(l, s.blankRow)
}

// scrollUp moves rows top..bot up by n, rotating the row slices so no cells are copied.
func (s *Screen) scrollUp(top, bot, n int) {
	n = min(n, bot-top+1)
	lines := s.buf.lines
	for ; n > 0; n-- {
		first := lines[top]
		copy(lines[top:bot], lines[top+1:bot+1])
		lines[bot] = first
		s.fill(first)
	}
}

func (s *Screen) scrollDown(top, bot, n int) {
	n = min(n, bot-top+1)
	lines := s.buf.lines
	for ; n > 0; n-- {
		last := lines[bot]
		copy(lines[top+1:bot+1], lines[top:bot])
		lines[top] = last
		s.fill(last)
	}
}

func (s *Screen) saveCursor() {
	s.buf.saved = s.cur
	s.buf.hasSaved = true
}

func (s *Screen) restoreCursor() {
	if !s.buf.hasSaved {
		s.cur = cursor{}
		return
	}
	s.cur = s.buf.saved
	s.cur.x = min(s.cur.x, s.cols-1)
	s.cur.y = min(s.cur.y, s.rows-1)
}

func (s *Screen) moveTo(x, y int) {
	s.cur.wrapPending = false
	minY, maxY := 0, s.rows-1
	if s.cur.originMode {
		y += s.top
		minY, maxY = s.top, s.bot
	}
	s.cur.x = clamp(x, 0, s.cols-1)
	s.cur.y = clamp(y, minY, maxY)
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

func (s *Screen) originOffset() int {
	if s.cur.originMode {
		return s.top
	}
	return 0
}

func (s *Screen) topLimit() int {
	if s.cur.y >= s.top {
		return s.top
	}
	return 0
}

func (s *Screen) botLimit() int {
	if s.cur.y <= s.bot {
		return s.bot
	}
	return s.rows - 1
}

func (s *Screen) eraseDisplay(mode int) {
	lines := s.buf.lines
	switch mode {
	case 0:
		s.eraseLine(0)
		for y := s.cur.y + 1; y < s.rows; y++ {
			s.fill(lines[y])
		}
	case 1:
		s.eraseLine(1)
		for y := 0; y < s.cur.y; y++ {
			s.fill(lines[y])
		}
	case 2, 3:
		for y := range lines {
			s.fill(lines[y])
		}
	}
}

func (s *Screen) eraseLine(mode int) {
	line := s.buf.lines[s.cur.y]
	switch mode {
	case 0:
		s.clearWideAt(line, s.cur.x)
		s.fill(line[s.cur.x:])
	case 1:
		s.clearWideAt(line, s.cur.x)
		s.fill(line[:s.cur.x+1])
	case 2:
		s.fill(line)
	}
	s.cur.wrapPending = false
}

func (s *Screen) backTab(n int) {
	for ; n > 0 && s.cur.x > 0; n-- {
		s.cur.x--
		for s.cur.x > 0 && !s.tabs[s.cur.x] {
			s.cur.x--
		}
	}
}

func (s *Screen) insertChars(n int) {
	line := s.buf.lines[s.cur.y]
	n = min(n, s.cols-s.cur.x)
	copy(line[s.cur.x+n:], line[s.cur.x:])
	s.fill(line[s.cur.x : s.cur.x+n])
}

func (s *Screen) deleteChars(n int) {
	line := s.buf.lines[s.cur.y]
	n = min(n, s.cols-s.cur.x)
	copy(line[s.cur.x:], line[s.cur.x+n:])
	s.fill(line[s.cols-n:])
}

func (s *Screen) eraseChars(n int) {
	line := s.buf.lines[s.cur.y]
	n = min(n, s.cols-s.cur.x)
	s.fill(line[s.cur.x : s.cur.x+n])
}

// insertLines and deleteLines act only when the cursor is inside the scroll region.
func (s *Screen) insertLines(n int) {
	if s.cur.y >= s.top && s.cur.y <= s.bot {
		s.scrollDown(s.cur.y, s.bot, n)
		s.cur.x = 0
	}
}

func (s *Screen) deleteLines(n int) {
	if s.cur.y >= s.top && s.cur.y <= s.bot {
		s.scrollUp(s.cur.y, s.bot, n)
		s.cur.x = 0
	}
}

// repeatLast prints the last printed character n more times, at most a screenful.
func (s *Screen) repeatLast(n int) {
	if s.lastRune == 0 {
		return
	}
	for n = min(n, s.cols*s.rows); n > 0; n-- {
		s.print(s.lastRune, max(1, runewidth.RuneWidth(s.lastRune)))
	}
}

// setScrollRegion sets rows top..bot (0-based, inclusive) as the scroll region and homes the cursor; a region
// of less than two rows is ignored.
func (s *Screen) setScrollRegion(top, bot int) {
	bot = min(bot, s.rows-1)
	if top < bot {
		s.top, s.bot = top, bot
		s.moveTo(0, 0)
	}
}
