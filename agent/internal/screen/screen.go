// Package screen holds a compact terminal state emulator (a VT100/xterm subset) that tracks what a terminal
// shows — main and alternate screen, cursor, pen, scroll region and modes — so a reconnecting client can be
// brought back to the exact current screen. It allocates nothing per byte; scrolling rotates row slices.
//
// Scrollback is not kept here: the session keeps raw output in a ring and replays it (see Sanitize), then
// writes Restore on top. Written by hand because the maintained Go emulators measured 2–11 MB/s on this
// workload, far below a PTY, and did not expose the state a restore needs (modes, the main screen while the
// alternate one is active).
package screen

import (
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

const (
	maxParams     = 16
	maxPendingSeq = 4096
)

// Cell attribute flags.
const (
	attrBold uint16 = 1 << iota
	attrDim
	attrItalic
	attrUnderline
	attrBlink
	attrInverse
	attrHidden
	attrStrike
	attrWideCont // second half of a wide character
)

// Colours: 0 is the default; colorIndexed|n is palette n; colorRGB|rrggbb is true colour.
const (
	colorIndexed uint32 = 1 << 24
	colorRGB     uint32 = 2 << 24
)

type pen struct {
	fg, bg uint32
	flags  uint16
}

type cell struct {
	r rune
	pen
}

var blank = cell{r: ' '}

type cursor struct {
	x, y        int
	pen         pen
	wrapPending bool
	originMode  bool
	gl          int     // 0 = G0, 1 = G1
	graphics    [2]bool // G0/G1 designated as DEC special graphics
}

type buffer struct {
	lines    [][]cell
	saved    cursor // DECSC
	hasSaved bool
}

// Modes tracked for restore (DEC private unless noted).
type modes struct {
	appCursor     bool // ?1
	autowrap      bool // ?7
	cursorHidden  bool // ?25
	mouseX10      bool // ?9
	mouseNormal   bool // ?1000
	mouseButton   bool // ?1002
	mouseAny      bool // ?1003
	focusEvents   bool // ?1004
	mouseSGR      bool // ?1006
	bracketed     bool // ?2004
	appKeypad     bool // ESC = / ?66
	insert        bool // ANSI 4
	newline       bool // ANSI 20
	cursorStyle   int  // DECSCUSR
	reverseScreen bool // ?5
}

type parseState uint8

const (
	stGround parseState = iota
	stEsc
	stEscInter // ESC followed by an intermediate such as ( ) #
	stCSI
	stOSC
	stOSCEsc
	stString    // DCS/APC/PM/SOS body, ignored
	stStringEsc // ESC inside a string, expecting \
)

// Screen is the emulator. It is not safe for concurrent use.
type Screen struct {
	cols, rows int
	main, alt  buffer
	buf        *buffer
	altActive  bool
	altSaved   cursor // cursor saved by ?1049 on entering the alternate screen
	cur        cursor
	top, bot   int // scroll region, inclusive, 0-based
	tabs       []bool
	mode       modes
	title      []byte

	state     parseState
	params    [maxParams]int
	nparams   int
	paramSeen bool
	prefix    byte // ? > < = in CSI
	inter     byte // intermediate byte in CSI/ESC
	escInter  byte
	osc       []byte
	utf8buf   [utf8.UTFMax]byte
	utf8n     int
	utf8need  int
	pending   []byte // raw bytes of the unfinished sequence or rune
	blankRow  []cell // a row of blanks in the last used background, see fill
	lastRune  rune
}

// New returns a screen of the given size.
func New(cols, rows int) *Screen {
	s := &Screen{}
	s.reset(cols, rows)
	return s
}

func newLines(cols, rows int) [][]cell {
	backing := make([]cell, cols*rows)
	for i := range backing {
		backing[i] = blank
	}
	lines := make([][]cell, rows)
	for y := range lines {
		lines[y] = backing[y*cols : (y+1)*cols : (y+1)*cols]
	}
	return lines
}

func (s *Screen) reset(cols, rows int) {
	cols, rows = max(cols, 1), max(rows, 1)
	*s = Screen{cols: cols, rows: rows, osc: s.osc[:0], pending: s.pending[:0]}
	s.main.lines = newLines(cols, rows)
	s.alt.lines = newLines(cols, rows)
	s.buf = &s.main
	s.bot = rows - 1
	s.mode.autowrap = true
	s.tabs = make([]bool, cols)
	for x := 8; x < cols; x += 8 {
		s.tabs[x] = true
	}
}

// AltScreen reports whether the alternate screen is active.
func (s *Screen) AltScreen() bool { return s.altActive }

// Cursor returns the 0-based cursor column and row.
func (s *Screen) Cursor() (x, y int) { return s.cur.x, s.cur.y }

// Pending returns the raw bytes of an escape sequence or UTF-8 character that has begun but not ended.
// They must follow a restore so the client's parser sees the sequence whole.
func (s *Screen) Pending() []byte { return s.pending }

// Line returns the text of row y of the active screen, trailing blanks trimmed (for tests and logs).
func (s *Screen) Line(y int) string {
	if y < 0 || y >= s.rows {
		return ""
	}
	return lineText(s.buf.lines[y])
}

func lineText(l []cell) string {
	end := len(l)
	for end > 0 && (l[end-1].r == ' ' || l[end-1].r == 0) {
		end--
	}
	out := make([]rune, 0, end)
	for _, c := range l[:end] {
		if c.flags&attrWideCont != 0 {
			continue
		}
		out = append(out, c.r)
	}
	return string(out)
}

// Write feeds terminal output to the emulator. It never fails.
func (s *Screen) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		b := p[i]
		if s.state == stGround && s.utf8need == 0 {
			// Fast path: a run of printable ASCII.
			if b >= 0x20 && b < 0x7f {
				j := i + 1
				for j < len(p) && p[j] >= 0x20 && p[j] < 0x7f {
					j++
				}
				s.printASCII(p[i:j])
				i = j - 1
				continue
			}
		}
		s.advance(b)
	}
	return len(p), nil
}

func (s *Screen) advance(b byte) {
	// C0 controls act inside sequences too (except in strings), as on a VT.
	if b < 0x20 && s.state != stOSC && s.state != stString && s.state != stStringEsc && s.state != stOSCEsc {
		if b == 0x1b {
			s.utf8need = 0
			s.utf8n = 0
			s.state = stEsc
			s.inter = 0
			s.pending = append(s.pending[:0], b)
			return
		}
		if b == 0x18 || b == 0x1a { // CAN, SUB abort a sequence
			s.state = stGround
			s.pending = s.pending[:0]
			return
		}
		if s.state == stGround && s.utf8need > 0 {
			s.utf8need, s.utf8n = 0, 0
			s.pending = s.pending[:0]
		}
		s.control(b)
		return
	}
	switch s.state {
	case stGround:
		s.ground(b)
	case stEsc:
		s.pendingAdd(b)
		s.esc(b)
	case stEscInter:
		s.pendingAdd(b)
		s.escFinal(b)
	case stCSI:
		s.pendingAdd(b)
		s.csiByte(b)
	case stOSC:
		s.pendingAdd(b)
		switch b {
		case 0x07:
			s.oscEnd()
		case 0x1b:
			s.state = stOSCEsc
		default:
			if len(s.osc) < maxPendingSeq {
				s.osc = append(s.osc, b)
			}
		}
	case stOSCEsc:
		s.pendingAdd(b)
		if b == '\\' {
			s.oscEnd()
		} else {
			s.state = stGround
			s.pending = s.pending[:0]
		}
	case stString:
		s.pendingAdd(b)
		switch b {
		case 0x1b:
			s.state = stStringEsc
		case 0x07:
			s.done()
		}
	case stStringEsc:
		s.pendingAdd(b)
		if b == '\\' {
			s.done()
		} else {
			s.state = stString
		}
	}
}

func (s *Screen) pendingAdd(b byte) {
	if len(s.pending) < maxPendingSeq {
		s.pending = append(s.pending, b)
	}
}

func (s *Screen) done() {
	s.state = stGround
	s.pending = s.pending[:0]
}

func (s *Screen) ground(b byte) {
	if b == 0x7f {
		return
	}
	if s.utf8need > 0 {
		if b&0xc0 != 0x80 {
			s.utf8need = 0
			s.utf8n = 0
			s.pending = s.pending[:0]
			s.print(utf8.RuneError, 1)
			s.ground(b)
			return
		}
		s.utf8buf[s.utf8n] = b
		s.utf8n++
		s.pending = append(s.pending, b)
		if s.utf8n < s.utf8need {
			return
		}
		r, _ := utf8.DecodeRune(s.utf8buf[:s.utf8n])
		s.utf8need = 0
		s.utf8n = 0
		s.pending = s.pending[:0]
		s.printRune(r)
		return
	}
	switch {
	case b < 0x80:
		s.print(rune(b), 1)
	case b&0xe0 == 0xc0:
		s.utf8need = 2
	case b&0xf0 == 0xe0:
		s.utf8need = 3
	case b&0xf8 == 0xf0:
		s.utf8need = 4
	default:
		s.print(utf8.RuneError, 1)
		return
	}
	s.utf8buf[0] = b
	s.utf8n = 1
	s.pending = append(s.pending[:0], b)
}

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

func (s *Screen) control(b byte) {
	switch b {
	case '\b':
		s.cur.wrapPending = false
		if s.cur.x > 0 {
			s.cur.x--
		}
	case '\t':
		s.tab(1)
	case '\n', 0x0b, 0x0c:
		s.lineFeed()
		if s.mode.newline {
			s.cur.x = 0
		}
	case '\r':
		s.cur.x = 0
		s.cur.wrapPending = false
	case 0x0e:
		s.cur.gl = 1
	case 0x0f:
		s.cur.gl = 0
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

func (s *Screen) esc(b byte) {
	switch b {
	case '[':
		s.state = stCSI
		s.nparams = 0
		s.paramSeen = false
		s.params[0] = 0
		s.prefix = 0
		s.inter = 0
		return
	case ']':
		s.state = stOSC
		s.osc = s.osc[:0]
		return
	case 'P', '_', '^', 'X':
		s.state = stString
		return
	case '(', ')', '*', '+', '#', '%', ' ':
		s.escInter = b
		s.state = stEscInter
		return
	case '7':
		s.saveCursor()
	case '8':
		s.restoreCursor()
	case 'D':
		s.lineFeed()
	case 'E':
		s.cur.x = 0
		s.lineFeed()
	case 'M':
		s.reverseIndex()
	case 'H':
		s.tabs[s.cur.x] = true
	case 'c':
		s.reset(s.cols, s.rows)
	case '=':
		s.mode.appKeypad = true
	case '>':
		s.mode.appKeypad = false
	}
	s.done()
}

func (s *Screen) escFinal(b byte) {
	switch s.escInter {
	case '(':
		s.cur.graphics[0] = b == '0'
	case ')':
		s.cur.graphics[1] = b == '0'
	case '#':
		if b == '8' { // DECALN
			for _, l := range s.buf.lines {
				for x := range l {
					l[x] = cell{r: 'E'}
				}
			}
		}
	}
	s.done()
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

func (s *Screen) oscEnd() {
	// OSC 0 and 2 set the title; everything else is left to the live stream.
	if len(s.osc) >= 2 && (s.osc[0] == '0' || s.osc[0] == '2') && s.osc[1] == ';' {
		s.title = append(s.title[:0], s.osc[2:]...)
	}
	s.done()
}

func (s *Screen) csiByte(b byte) {
	switch {
	case b >= '0' && b <= '9':
		if s.nparams == 0 {
			s.nparams = 1
		}
		v := &s.params[s.nparams-1]
		if *v < 100000 {
			*v = *v*10 + int(b-'0')
		}
		s.paramSeen = true
	case b == ';' || b == ':':
		if s.nparams == 0 {
			s.nparams = 1
		}
		if s.nparams < maxParams {
			s.params[s.nparams] = 0
			s.nparams++
		}
	case b >= '<' && b <= '?':
		s.prefix = b
	case b >= 0x20 && b <= 0x2f:
		s.inter = b
	case b >= 0x40 && b <= 0x7e:
		s.csiDispatch(b)
		s.done()
	default:
		s.done()
	}
}

func (s *Screen) param(i, def int) int {
	if i >= s.nparams || s.params[i] == 0 {
		return def
	}
	return s.params[i]
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

func (s *Screen) csiDispatch(final byte) {
	if s.inter != 0 {
		switch {
		case s.inter == ' ' && final == 'q':
			s.mode.cursorStyle = s.param(0, 0)
		case s.inter == '!' && final == 'p':
			s.softReset()
		}
		return
	}
	if s.prefix == '?' {
		switch final {
		case 'h':
			s.setPrivateModes(true)
		case 'l':
			s.setPrivateModes(false)
		}
		return
	}
	if s.prefix != 0 {
		return
	}
	line := s.buf.lines[s.cur.y]
	switch final {
	case '@':
		n := min(s.param(0, 1), s.cols-s.cur.x)
		copy(line[s.cur.x+n:], line[s.cur.x:])
		s.fill(line[s.cur.x : s.cur.x+n])
	case 'A':
		s.moveTo(s.cur.x, max(s.cur.y-s.param(0, 1), s.topLimit())-s.originOffset())
	case 'B', 'e':
		s.moveTo(s.cur.x, min(s.cur.y+s.param(0, 1), s.botLimit())-s.originOffset())
	case 'C', 'a':
		s.moveTo(s.cur.x+s.param(0, 1), s.cur.y-s.originOffset())
	case 'D':
		s.moveTo(s.cur.x-s.param(0, 1), s.cur.y-s.originOffset())
	case 'E':
		s.moveTo(0, min(s.cur.y+s.param(0, 1), s.botLimit())-s.originOffset())
	case 'F':
		s.moveTo(0, max(s.cur.y-s.param(0, 1), s.topLimit())-s.originOffset())
	case 'G', '`':
		s.moveTo(s.param(0, 1)-1, s.cur.y-s.originOffset())
	case 'H', 'f':
		s.moveTo(s.param(1, 1)-1, s.param(0, 1)-1)
	case 'I':
		s.tab(s.param(0, 1))
	case 'Z':
		for n := s.param(0, 1); n > 0 && s.cur.x > 0; n-- {
			s.cur.x--
			for s.cur.x > 0 && !s.tabs[s.cur.x] {
				s.cur.x--
			}
		}
	case 'J':
		s.eraseDisplay(s.param(0, 0))
	case 'K':
		s.eraseLine(s.param(0, 0))
	case 'L':
		if s.cur.y >= s.top && s.cur.y <= s.bot {
			s.scrollDown(s.cur.y, s.bot, s.param(0, 1))
			s.cur.x = 0
		}
	case 'M':
		if s.cur.y >= s.top && s.cur.y <= s.bot {
			s.scrollUp(s.cur.y, s.bot, s.param(0, 1))
			s.cur.x = 0
		}
	case 'P':
		n := min(s.param(0, 1), s.cols-s.cur.x)
		copy(line[s.cur.x:], line[s.cur.x+n:])
		s.fill(line[s.cols-n:])
	case 'S':
		s.scrollUp(s.top, s.bot, s.param(0, 1))
	case 'T':
		s.scrollDown(s.top, s.bot, s.param(0, 1))
	case 'X':
		n := min(s.param(0, 1), s.cols-s.cur.x)
		s.fill(line[s.cur.x : s.cur.x+n])
	case 'b':
		if s.lastRune != 0 {
			for n := min(s.param(0, 1), s.cols*s.rows); n > 0; n-- {
				s.print(s.lastRune, max(1, runewidth.RuneWidth(s.lastRune)))
			}
		}
	case 'd':
		s.moveTo(s.cur.x, s.param(0, 1)-1)
	case 'g':
		switch s.param(0, 0) {
		case 0:
			s.tabs[s.cur.x] = false
		case 3:
			clear(s.tabs)
		}
	case 'h', 'l':
		for i := 0; i < max(s.nparams, 1); i++ {
			switch s.params[i] {
			case 4:
				s.mode.insert = final == 'h'
			case 20:
				s.mode.newline = final == 'h'
			}
		}
	case 'm':
		s.sgr()
	case 'r':
		top, bot := s.param(0, 1)-1, s.param(1, s.rows)-1
		if bot > s.rows-1 {
			bot = s.rows - 1
		}
		if top < bot {
			s.top, s.bot = top, bot
			s.moveTo(0, 0)
		}
	case 's':
		s.saveCursor()
	case 'u':
		s.restoreCursor()
	}
}

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

func (s *Screen) softReset() {
	s.mode.insert = false
	s.mode.cursorHidden = false
	s.mode.appCursor = false
	s.mode.appKeypad = false
	s.mode.autowrap = true
	s.cur.originMode = false
	s.cur.pen = pen{}
	s.top, s.bot = 0, s.rows-1
}

func (s *Screen) setPrivateModes(on bool) {
	for i := 0; i < max(s.nparams, 1); i++ {
		switch s.params[i] {
		case 1:
			s.mode.appCursor = on
		case 5:
			s.mode.reverseScreen = on
		case 6:
			s.cur.originMode = on
			s.moveTo(0, 0)
		case 7:
			s.mode.autowrap = on
		case 9:
			s.mode.mouseX10 = on
		case 25:
			s.mode.cursorHidden = !on
		case 66:
			s.mode.appKeypad = on
		case 1000:
			s.mode.mouseNormal = on
		case 1002:
			s.mode.mouseButton = on
		case 1003:
			s.mode.mouseAny = on
		case 1004:
			s.mode.focusEvents = on
		case 1006:
			s.mode.mouseSGR = on
		case 2004:
			s.mode.bracketed = on
		case 47, 1047:
			s.switchScreen(on, false)
		case 1048:
			if on {
				s.saveCursor()
			} else {
				s.restoreCursor()
			}
		case 1049:
			s.switchScreen(on, true)
		}
	}
}

func (s *Screen) switchScreen(on, saveCursor bool) {
	if on == s.altActive {
		return
	}
	if on {
		if saveCursor {
			s.altSaved = s.cur
		}
		s.altActive = true
		s.buf = &s.alt
		if saveCursor {
			for y := range s.alt.lines {
				s.fill(s.alt.lines[y])
			}
		}
		return
	}
	s.altActive = false
	s.buf = &s.main
	if saveCursor {
		s.cur = s.altSaved
		s.cur.x = min(s.cur.x, s.cols-1)
		s.cur.y = min(s.cur.y, s.rows-1)
	}
}

func (s *Screen) sgr() {
	if s.nparams == 0 {
		s.cur.pen = pen{}
		return
	}
	p := &s.cur.pen
	for i := 0; i < s.nparams; i++ {
		switch v := s.params[i]; {
		case v == 0:
			*p = pen{}
		case v == 1:
			p.flags |= attrBold
		case v == 2:
			p.flags |= attrDim
		case v == 3:
			p.flags |= attrItalic
		case v == 4:
			p.flags |= attrUnderline
		case v == 5 || v == 6:
			p.flags |= attrBlink
		case v == 7:
			p.flags |= attrInverse
		case v == 8:
			p.flags |= attrHidden
		case v == 9:
			p.flags |= attrStrike
		case v == 21 || v == 22:
			p.flags &^= attrBold | attrDim
		case v == 23:
			p.flags &^= attrItalic
		case v == 24:
			p.flags &^= attrUnderline
		case v == 25:
			p.flags &^= attrBlink
		case v == 27:
			p.flags &^= attrInverse
		case v == 28:
			p.flags &^= attrHidden
		case v == 29:
			p.flags &^= attrStrike
		case v >= 30 && v <= 37:
			p.fg = colorIndexed | uint32(v-30)
		case v == 39:
			p.fg = 0
		case v >= 40 && v <= 47:
			p.bg = colorIndexed | uint32(v-40)
		case v == 49:
			p.bg = 0
		case v >= 90 && v <= 97:
			p.fg = colorIndexed | uint32(v-90+8)
		case v >= 100 && v <= 107:
			p.bg = colorIndexed | uint32(v-100+8)
		case v == 38 || v == 48:
			c, used := s.extendedColor(i + 1)
			i += used
			if v == 38 {
				p.fg = c
			} else {
				p.bg = c
			}
		}
	}
}

func (s *Screen) extendedColor(i int) (uint32, int) {
	if i >= s.nparams {
		return 0, 0
	}
	switch s.params[i] {
	case 5:
		if i+1 < s.nparams {
			return colorIndexed | uint32(s.params[i+1]&0xff), 2
		}
		return 0, 1
	case 2:
		if i+3 < s.nparams {
			r, g, b := uint32(s.params[i+1]&0xff), uint32(s.params[i+2]&0xff), uint32(s.params[i+3]&0xff)
			return colorRGB | r<<16 | g<<8 | b, 4
		}
		return 0, s.nparams - i
	}
	return 0, 1
}

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
