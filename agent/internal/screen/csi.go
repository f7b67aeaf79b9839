package screen

// Control sequences (CSI): parameters, then dispatch by final byte.

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
