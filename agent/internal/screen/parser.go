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
