package screen

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

// pen is what a printed character takes from the cursor: colours and attribute flags.
type pen struct {
	fg, bg uint32
	flags  uint16
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
