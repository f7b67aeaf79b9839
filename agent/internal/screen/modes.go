package screen

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

// softReset is DECSTR: modes, pen, origin and scroll region back to their defaults; the screen is kept.
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

// setPrivateModes sets or resets the DEC private modes listed in the parameters.
func (s *Screen) setPrivateModes(on bool) {
	for i := 0; i < max(s.nparams, 1); i++ {
		switch s.params[i] {
		case 1: // DECCKM: application cursor keys
			s.mode.appCursor = on
		case 5: // DECSCNM: reverse video screen
			s.mode.reverseScreen = on
		case 6: // DECOM: origin mode
			s.cur.originMode = on
			s.moveTo(0, 0)
		case 7: // DECAWM: autowrap
			s.mode.autowrap = on
		case 9: // X10 mouse reporting
			s.mode.mouseX10 = on
		case 25: // DECTCEM: cursor visible
			s.mode.cursorHidden = !on
		case 66: // DECNKM: application keypad
			s.mode.appKeypad = on
		case 1000: // mouse press and release reporting
			s.mode.mouseNormal = on
		case 1002: // mouse button-motion reporting
			s.mode.mouseButton = on
		case 1003: // mouse any-motion reporting
			s.mode.mouseAny = on
		case 1004: // focus in/out events
			s.mode.focusEvents = on
		case 1006: // SGR mouse encoding
			s.mode.mouseSGR = on
		case 2004: // bracketed paste
			s.mode.bracketed = on
		case 47, 1047: // alternate screen without cursor save
			s.switchScreen(on, false)
		case 1048: // save or restore the cursor
			if on {
				s.saveCursor()
			} else {
				s.restoreCursor()
			}
		case 1049: // alternate screen, saving the cursor and clearing it on entry
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
		if s.alt.lines == nil {
			s.alt.lines = newLines(s.cols, s.rows)
		}
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

// setANSIModes sets or resets the ANSI (non-private) modes listed in the parameters.
func (s *Screen) setANSIModes(on bool) {
	for i := 0; i < max(s.nparams, 1); i++ {
		switch s.params[i] {
		case 4: // IRM: insert
			s.mode.insert = on
		case 20: // LNM: newline
			s.mode.newline = on
		}
	}
}
