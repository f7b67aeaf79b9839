package screen

import (
	"strconv"
	"unicode/utf8"
)

// resetSequence leaves whatever screen and modes a replay left: main screen, clean pen, no scroll region,
// ASCII character sets and every tracked mode at its default.
const resetSequence = "\x1b[?1049l\x1b[?47l\x1b[!p\x1b[0m\x1b[r\x1b(B\x1b)B\x0f" +
	"\x1b[?1l\x1b[?5l\x1b[?6l\x1b[?7h\x1b[?9l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1004l\x1b[?1006l" +
	"\x1b[?2004l\x1b>\x1b[4l\x1b[20l\x1b[0 q\x1b[H\x1b[2J"

// AppendRestore appends to dst the bytes that bring a terminal in any state to this screen's state: both
// screens' contents, the active screen, cursor position and visibility, scroll region, pen, character sets,
// title and input modes (cursor keys, keypad, mouse, focus, bracketed paste). It does not include Pending.
func (s *Screen) AppendRestore(dst []byte) []byte {
	dst = append(dst, resetSequence...)
	dst = appendLines(dst, s.main.lines)
	if s.altActive {
		dst = appendCUP(dst, s.altSaved.y, s.altSaved.x)
		dst = append(dst, "\x1b[?1049h\x1b[H\x1b[2J"...)
		dst = appendLines(dst, s.alt.lines)
	}
	if s.mode.reverseScreen {
		dst = append(dst, "\x1b[?5h"...)
	}
	if s.top != 0 || s.bot != s.rows-1 {
		dst = append(dst, "\x1b["...)
		dst = strconv.AppendInt(dst, int64(s.top+1), 10)
		dst = append(dst, ';')
		dst = strconv.AppendInt(dst, int64(s.bot+1), 10)
		dst = append(dst, 'r')
	}
	if s.cur.originMode {
		dst = append(dst, "\x1b[?6h"...)
		dst = appendCUP(dst, s.cur.y-s.top, s.cur.x)
	} else {
		dst = appendCUP(dst, s.cur.y, s.cur.x)
	}
	dst = appendPen(dst, pen{}, s.cur.pen)
	if s.cur.graphics[0] {
		dst = append(dst, "\x1b(0"...)
	}
	if s.cur.graphics[1] {
		dst = append(dst, "\x1b)0"...)
	}
	if s.cur.gl == 1 {
		dst = append(dst, 0x0e)
	}
	if len(s.title) > 0 {
		dst = append(dst, "\x1b]2;"...)
		dst = append(dst, s.title...)
		dst = append(dst, 0x07)
	}
	m := s.mode
	for _, f := range []struct {
		on   bool
		code string
	}{
		{m.appCursor, "\x1b[?1h"}, {!m.autowrap, "\x1b[?7l"}, {m.cursorHidden, "\x1b[?25l"},
		{m.mouseX10, "\x1b[?9h"}, {m.mouseNormal, "\x1b[?1000h"}, {m.mouseButton, "\x1b[?1002h"},
		{m.mouseAny, "\x1b[?1003h"}, {m.focusEvents, "\x1b[?1004h"}, {m.mouseSGR, "\x1b[?1006h"},
		{m.bracketed, "\x1b[?2004h"}, {m.appKeypad, "\x1b="}, {m.insert, "\x1b[4h"}, {m.newline, "\x1b[20h"},
	} {
		if f.on {
			dst = append(dst, f.code...)
		}
	}
	if m.cursorStyle != 0 {
		dst = append(dst, "\x1b["...)
		dst = strconv.AppendInt(dst, int64(m.cursorStyle), 10)
		dst = append(dst, " q"...)
	}
	return dst
}

func appendCUP(dst []byte, y, x int) []byte {
	dst = append(dst, "\x1b["...)
	dst = strconv.AppendInt(dst, int64(y+1), 10)
	dst = append(dst, ';')
	dst = strconv.AppendInt(dst, int64(x+1), 10)
	return append(dst, 'H')
}

// appendLines draws each row at its position; rows are addressed absolutely so wrapping never scrolls.
func appendLines(dst []byte, lines [][]cell) []byte {
	cur := pen{}
	for y, l := range lines {
		end := len(l)
		for end > 0 && l[end-1].r == ' ' && l[end-1].pen == (pen{}) {
			end--
		}
		if end == 0 {
			continue
		}
		dst = appendCUP(dst, y, 0)
		for _, c := range l[:end] {
			if c.flags&attrWideCont != 0 {
				continue
			}
			if c.pen != cur {
				dst = appendPen(dst, cur, c.pen)
				cur = c.pen
			}
			if c.r < utf8.RuneSelf {
				dst = append(dst, byte(c.r))
			} else {
				dst = utf8.AppendRune(dst, c.r)
			}
		}
	}
	if cur != (pen{}) {
		dst = append(dst, "\x1b[0m"...)
	}
	return dst
}

var flagCodes = [...]struct {
	flag uint16
	code int
}{
	{attrBold, 1}, {attrDim, 2}, {attrItalic, 3}, {attrUnderline, 4}, {attrBlink, 5}, {attrInverse, 7},
	{attrHidden, 8}, {attrStrike, 9},
}

// appendPen emits one SGR that turns from into to (a reset followed by what to needs).
func appendPen(dst []byte, from, to pen) []byte {
	to.flags &^= attrWideCont
	from.flags &^= attrWideCont
	if from == to {
		return dst
	}
	dst = append(dst, "\x1b[0"...)
	for _, f := range flagCodes {
		if to.flags&f.flag != 0 {
			dst = append(dst, ';')
			dst = strconv.AppendInt(dst, int64(f.code), 10)
		}
	}
	dst = appendColor(dst, to.fg, 30, 90, 38)
	dst = appendColor(dst, to.bg, 40, 100, 48)
	return append(dst, 'm')
}

func appendColor(dst []byte, c uint32, base, brightBase, ext int) []byte {
	switch c & 0xff000000 {
	case colorIndexed:
		n := int(c & 0xff)
		dst = append(dst, ';')
		switch {
		case n < 8:
			dst = strconv.AppendInt(dst, int64(base+n), 10)
		case n < 16:
			dst = strconv.AppendInt(dst, int64(brightBase+n-8), 10)
		default:
			dst = strconv.AppendInt(dst, int64(ext), 10)
			dst = append(dst, ";5;"...)
			dst = strconv.AppendInt(dst, int64(n), 10)
		}
	case colorRGB:
		dst = append(dst, ';')
		dst = strconv.AppendInt(dst, int64(ext), 10)
		dst = append(dst, ";2;"...)
		dst = strconv.AppendInt(dst, int64(c>>16&0xff), 10)
		dst = append(dst, ';')
		dst = strconv.AppendInt(dst, int64(c>>8&0xff), 10)
		dst = append(dst, ';')
		dst = strconv.AppendInt(dst, int64(c&0xff), 10)
	}
	return dst
}
