package screen

import "unicode/utf8"

// parseState is where the byte parser is: in text (ground) or inside an escape sequence, control sequence
// (CSI), operating system command (OSC) or ignored string.
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

// control acts on a C0 control character.
func (s *Screen) control(b byte) {
	switch b {
	case '\b': // BS: backspace
		s.cur.wrapPending = false
		if s.cur.x > 0 {
			s.cur.x--
		}
	case '\t': // HT: next tab stop
		s.tab(1)
	case '\n', 0x0b, 0x0c: // LF, VT, FF: line feed
		s.lineFeed()
		if s.mode.newline {
			s.cur.x = 0
		}
	case '\r': // CR: carriage return
		s.cur.x = 0
		s.cur.wrapPending = false
	case 0x0e: // SO: shift out to G1
		s.cur.gl = 1
	case 0x0f: // SI: shift in to G0
		s.cur.gl = 0
	}
}

// esc acts on the byte after ESC: it starts a longer sequence or is a whole one.
func (s *Screen) esc(b byte) {
	switch b {
	case '[': // CSI: control sequence introducer
		s.state = stCSI
		s.nparams = 0
		s.params[0] = 0
		s.prefix = 0
		s.inter = 0
		return
	case ']': // OSC: operating system command
		s.state = stOSC
		s.osc = s.osc[:0]
		return
	case 'P', '_', '^', 'X': // DCS, APC, PM, SOS: strings that are skipped
		s.state = stString
		return
	case '(', ')', '*', '+', '#', '%', ' ': // character set designation, DEC line commands and the like
		s.escInter = b
		s.state = stEscInter
		return
	case '7': // DECSC: save cursor
		s.saveCursor()
	case '8': // DECRC: restore cursor
		s.restoreCursor()
	case 'D': // IND: index
		s.lineFeed()
	case 'E': // NEL: next line
		s.cur.x = 0
		s.lineFeed()
	case 'M': // RI: reverse index
		s.reverseIndex()
	case 'H': // HTS: set a tab stop
		s.tabs[s.cur.x] = true
	case 'c': // RIS: full reset
		s.reset(s.cols, s.rows)
	case '=': // DECKPAM: application keypad
		s.mode.appKeypad = true
	case '>': // DECKPNM: numeric keypad
		s.mode.appKeypad = false
	}
	s.done()
}

// escFinal acts on the final byte of an ESC sequence with an intermediate (escInter).
func (s *Screen) escFinal(b byte) {
	switch s.escInter {
	case '(': // SCS G0: DEC special graphics when b is '0', otherwise treated as ASCII
		s.cur.graphics[0] = b == '0'
	case ')': // SCS G1: as G0
		s.cur.graphics[1] = b == '0'
	case '#':
		if b == '8' { // DECALN: fill the screen with E
			for _, l := range s.buf.lines {
				for x := range l {
					l[x] = cell{r: 'E'}
				}
			}
		}
	}
	s.done()
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

// csiDispatch acts on a complete CSI sequence whose final byte is final.
func (s *Screen) csiDispatch(final byte) {
	switch {
	case s.inter != 0:
		s.csiIntermediate(final)
	case s.prefix == '?':
		switch final {
		case 'h': // DECSET
			s.setPrivateModes(true)
		case 'l': // DECRST
			s.setPrivateModes(false)
		}
	case s.prefix != 0:
		// CSI > and CSI = are queries and settings (such as xterm's key modifiers) a restore does not need.
	default:
		if !s.csiCursor(final) {
			s.csiEdit(final)
		}
	}
}

// csiIntermediate handles the CSI sequences that carry an intermediate byte.
func (s *Screen) csiIntermediate(final byte) {
	switch {
	case s.inter == ' ' && final == 'q': // DECSCUSR: cursor style
		s.mode.cursorStyle = s.param(0, 0)
	case s.inter == '!' && final == 'p': // DECSTR: soft reset
		s.softReset()
	}
}

// csiCursor handles the CSI sequences that move the cursor or set tab stops, and reports whether final was one.
func (s *Screen) csiCursor(final byte) bool {
	switch final {
	case 'A': // CUU: cursor up
		s.moveTo(s.cur.x, max(s.cur.y-s.param(0, 1), s.topLimit())-s.originOffset())
	case 'B', 'e': // CUD, VPR: cursor down
		s.moveTo(s.cur.x, min(s.cur.y+s.param(0, 1), s.botLimit())-s.originOffset())
	case 'C', 'a': // CUF, HPR: cursor forward
		s.moveTo(s.cur.x+s.param(0, 1), s.cur.y-s.originOffset())
	case 'D': // CUB: cursor back
		s.moveTo(s.cur.x-s.param(0, 1), s.cur.y-s.originOffset())
	case 'E': // CNL: cursor to the start of a following line
		s.moveTo(0, min(s.cur.y+s.param(0, 1), s.botLimit())-s.originOffset())
	case 'F': // CPL: cursor to the start of a preceding line
		s.moveTo(0, max(s.cur.y-s.param(0, 1), s.topLimit())-s.originOffset())
	case 'G', '`': // CHA, HPA: cursor to a column
		s.moveTo(s.param(0, 1)-1, s.cur.y-s.originOffset())
	case 'H', 'f': // CUP, HVP: cursor position
		s.moveTo(s.param(1, 1)-1, s.param(0, 1)-1)
	case 'd': // VPA: cursor to a row
		s.moveTo(s.cur.x, s.param(0, 1)-1)
	case 'I': // CHT: forward tab stops
		s.tab(s.param(0, 1))
	case 'Z': // CBT: backward tab stops
		s.backTab(s.param(0, 1))
	case 'g': // TBC: clear tab stops
		switch s.param(0, 0) {
		case 0:
			s.tabs[s.cur.x] = false
		case 3:
			clear(s.tabs)
		}
	case 's': // SCOSC: save cursor
		s.saveCursor()
	case 'u': // SCORC: restore cursor
		s.restoreCursor()
	default:
		return false
	}
	return true
}

// csiEdit handles the CSI sequences that change the screen's contents, scroll region, pen or ANSI modes.
func (s *Screen) csiEdit(final byte) {
	switch final {
	case '@': // ICH: insert blank characters
		s.insertChars(s.param(0, 1))
	case 'P': // DCH: delete characters
		s.deleteChars(s.param(0, 1))
	case 'X': // ECH: erase characters
		s.eraseChars(s.param(0, 1))
	case 'J': // ED: erase in display
		s.eraseDisplay(s.param(0, 0))
	case 'K': // EL: erase in line
		s.eraseLine(s.param(0, 0))
	case 'L': // IL: insert lines
		s.insertLines(s.param(0, 1))
	case 'M': // DL: delete lines
		s.deleteLines(s.param(0, 1))
	case 'S': // SU: scroll up
		s.scrollUp(s.top, s.bot, s.param(0, 1))
	case 'T': // SD: scroll down
		s.scrollDown(s.top, s.bot, s.param(0, 1))
	case 'b': // REP: repeat the last printed character
		s.repeatLast(s.param(0, 1))
	case 'h': // SM: set ANSI modes
		s.setANSIModes(true)
	case 'l': // RM: reset ANSI modes
		s.setANSIModes(false)
	case 'm': // SGR: pen colours and attributes
		s.sgr()
	case 'r': // DECSTBM: scroll region
		s.setScrollRegion(s.param(0, 1)-1, s.param(1, s.rows)-1)
	}
}
