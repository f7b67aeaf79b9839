package screen

// Sanitize appends src to dst without the sequences that must not be replayed to a reconnecting terminal:
// queries a terminal would answer (device attributes, status and cursor reports, mode and version requests,
// colour queries) — their answers would arrive at the shell as typed input — and sequences with side effects
// outside the screen (OSC 52 clipboard, DCS/APC/PM/SOS strings, ENQ, BEL).
func Sanitize(dst, src []byte) []byte {
	i := 0
	for i < len(src) {
		b := src[i]
		if b == 0x05 || b == 0x07 {
			i++
			continue
		}
		if b != 0x1b || i+1 >= len(src) {
			dst = append(dst, b)
			i++
			continue
		}
		switch src[i+1] {
		case '[':
			end, keep := csiExtent(src, i+2)
			if keep {
				dst = append(dst, src[i:end]...)
			}
			i = end
		case ']':
			end, body := stringExtent(src, i+2, true)
			if keepOSC(body) {
				dst = append(dst, src[i:end]...)
			}
			i = end
		case 'P', '_', '^', 'X':
			end, _ := stringExtent(src, i+2, false)
			i = end
		case 'Z': // DECID asks for device attributes
			i += 2
		default:
			dst = append(dst, b)
			i++
		}
	}
	return dst
}

// csiExtent returns the end of the CSI sequence whose parameters start at i and whether it is safe to replay.
func csiExtent(src []byte, i int) (int, bool) {
	var prefix, inter byte
	for ; i < len(src); i++ {
		b := src[i]
		switch {
		case b >= '<' && b <= '?':
			prefix = b
		case b >= 0x20 && b <= 0x2f:
			inter = b
		case b >= 0x40 && b <= 0x7e:
			return i + 1, safeCSI(prefix, inter, b)
		case b >= '0' && b <= ';':
		default:
			return i, false
		}
	}
	return i, false
}

func safeCSI(prefix, inter, final byte) bool {
	switch final {
	case 'c', 'n', 't', 'x':
		return false
	case 'p':
		return inter != '$'
	case 'q':
		return prefix != '>'
	case 'u':
		return prefix != '?'
	}
	return true
}

// stringExtent returns the end of an OSC/DCS-style string starting at i (terminated by BEL or ST) and its body.
func stringExtent(src []byte, i int, belEnds bool) (int, []byte) {
	start := i
	for ; i < len(src); i++ {
		switch {
		case src[i] == 0x07 && belEnds:
			return i + 1, src[start:i]
		case src[i] == 0x1b && i+1 < len(src) && src[i+1] == '\\':
			return i + 2, src[start:i]
		}
	}
	return i, nil
}

// keepOSC keeps titles, working-directory reports and hyperlinks; it drops queries and the clipboard.
func keepOSC(body []byte) bool {
	n := 0
	j := 0
	for ; j < len(body) && body[j] >= '0' && body[j] <= '9'; j++ {
		n = n*10 + int(body[j]-'0')
	}
	switch n {
	case 0, 1, 2, 7, 8:
	default:
		return false
	}
	for k := j; k+1 < len(body); k++ {
		if body[k] == ';' && body[k+1] == '?' {
			return false
		}
	}
	return true
}
