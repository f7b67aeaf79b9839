package screen

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func feed(s *Screen, parts ...string) {
	for _, p := range parts {
		s.Write([]byte(p))
	}
}

// restoreInto replays a's restore sequence into a fresh screen of the same size that first saw junk.
func restoreInto(t *testing.T, a *Screen) *Screen {
	t.Helper()
	b := New(a.cols, a.rows)
	feed(b, "junk \x1b[31mred\x1b[?1049h alt junk \x1b[?1000h\x1b[5;10r")
	b.Write(a.AppendRestore(nil))
	b.Write(a.Pending())
	return b
}

func assertSameState(t *testing.T, want, got *Screen) {
	t.Helper()
	for name, pair := range map[string][2][][]cell{"main": {want.main.lines, got.main.lines}, "alt": {want.alt.lines, got.alt.lines}} {
		if !want.altActive && name == "alt" {
			continue
		}
		for y := range pair[0] {
			for x := range pair[0][y] {
				w, g := pair[0][y][x], pair[1][y][x]
				if w.r != g.r || w.fg != g.fg || w.bg != g.bg || w.flags != g.flags {
					t.Fatalf("%s cell (%d,%d) = %+v, want %+v\nwant line %q\ngot  line %q", name, x, y, g, w, lineText(pair[0][y]), lineText(pair[1][y]))
				}
			}
		}
	}
	if want.altActive != got.altActive {
		t.Fatalf("altActive = %v, want %v", got.altActive, want.altActive)
	}
	// The whole cursor (position, pen, origin mode, character sets), except a pending wrap, which a restore
	// cannot set and the next printed character settles alike.
	wantCur, gotCur := want.cur, got.cur
	wantCur.wrapPending, gotCur.wrapPending = false, false
	if wantCur != gotCur {
		t.Fatalf("cursor = %+v, want %+v", got.cur, want.cur)
	}
	if want.mode != got.mode {
		t.Fatalf("modes = %+v, want %+v", got.mode, want.mode)
	}
	if want.top != got.top || want.bot != got.bot {
		t.Fatalf("scroll region = %d..%d, want %d..%d", got.top, got.bot, want.top, want.bot)
	}
	if !bytes.Equal(want.title, got.title) {
		t.Fatalf("title = %q, want %q", got.title, want.title)
	}
}

func TestRestoreRoundTrip(t *testing.T) {
	tests := map[string][]string{
		"shell prompt":                      {"$ echo hi\r\nhi\r\n$ "},
		"colours and attributes":            {"\x1b[1;4;31mbold red\x1b[0m \x1b[38;5;200mpink\x1b[48;2;1;2;3m rgb \x1b[7minv\x1b[0m\r\n\x1b[92mbright"},
		"wide and multibyte":                {"héllo 世界 — ok\r\n", "日本語テキスト"},
		"scrolling past the bottom":         {strings.Repeat("line\r\n", 50), "last"},
		"vim-like alternate screen":         {"$ vim\r\n", "\x1b[?1049h\x1b[?1h\x1b=\x1b[H\x1b[2J\x1b[1;1H~\x1b[2;1H~\x1b[24;1H\"file\" 3L\x1b[3;5H\x1b[?25l", "\x1b]2;vim file\x07"},
		"htop-like scroll region and mouse": {"\x1b[?1049h\x1b[?1000h\x1b[?1006h\x1b[2;20r\x1b[5;1H\x1b[44m  CPU \x1b[0m\x1b[?2004h\x1b[3 q"},
		"line drawing":                      {"\x1b(0lqqk\r\nx  x\r\nmqqj\x1b(B"},
		"line drawing left on in G1":        {"\x1b)0\x0elqqk"},
		"origin mode in a scroll region":    {"\x1b[5;20r\x1b[?6h\x1b[2;3Hx"},
		"cursor save restore and insert":    {"abcdef\x1b[1;3H\x1b[4hXY\x1b[4l\x1b7\x1b[10;10H\x1b8"},
		"erase and delete":                  {"0123456789\r\nabcdefghij\x1b[1;5H\x1b[K\x1b[2;3H\x1b[2P\x1b[1L"},
		"no autowrap":                       {"\x1b[?7l" + strings.Repeat("x", 100)},
		"exact last column":                 {strings.Repeat("y", 80)},
	}
	for name, parts := range tests {
		t.Run(name, func(t *testing.T) {
			a := New(80, 24)
			feed(a, parts...)
			assertSameState(t, a, restoreInto(t, a))
		})
	}
}

func TestAlternateScreenKeepsMainScreen(t *testing.T) {
	a := New(40, 10)
	feed(a, "$ ls\r\nfile-a file-b\r\n$ htop", "\x1b[?1049h\x1b[HCPU[|||]")
	if !a.AltScreen() || a.Line(0) != "CPU[|||]" {
		t.Fatalf("alt screen not active: %v %q", a.AltScreen(), a.Line(0))
	}
	b := restoreInto(t, a)
	feed(b, "\x1b[?1049l")
	if got := b.Line(1); got != "file-a file-b" {
		t.Fatalf("main screen after leaving alt = %q", got)
	}
	if x, y := b.Cursor(); x != 6 || y != 2 {
		t.Fatalf("cursor after leaving alt = %d,%d, want 6,2", x, y)
	}
}

func TestSplitSequencesAndRunes(t *testing.T) {
	whole := "a\x1b[31mé世\x1b]2;title\x07\x1b[?1049hz"
	want := New(20, 5)
	feed(want, whole)
	for cut := 0; cut <= len(whole); cut++ {
		a := New(20, 5)
		feed(a, whole[:cut])
		b := restoreInto(t, a)
		feed(b, whole[cut:])
		feed(a, whole[cut:])
		assertSameState(t, want, a)
		assertSameState(t, want, b)
	}
}

func TestResizeKeepsCursorLine(t *testing.T) {
	s := New(20, 10)
	for i := 0; i < 10; i++ {
		feed(s, fmt.Sprintf("\r\nline %d", i))
	}
	s.Resize(10, 4)
	if got := s.Line(3); got != "line 9" {
		t.Fatalf("bottom line after shrink = %q", got)
	}
	s.Resize(30, 12)
	if got := s.Line(3); got != "line 9" {
		t.Fatalf("line after grow = %q", got)
	}
}

func TestSanitizeDropsQueries(t *testing.T) {
	in := "a\x1b[cb\x1b[>0c\x1b[6nc\x1b[?2026$pd\x1b[>qe\x1b]11;?\x07f\x1b]52;c;SGVsbG8=\x07g\x1bP+q544e\x1b\\h\x1b[31mred\x1b]2;t\x07\x1b]8;;http://x\x1b\\l\x05\x07"
	got := string(Sanitize(nil, []byte(in)))
	want := "abcdefgh\x1b[31mred\x1b]2;t\x07\x1b]8;;http://x\x1b\\l"
	if got != want {
		t.Fatalf("Sanitize = %q\nwant       %q", got, want)
	}
}

func BenchmarkWriteScrollingText(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&buf, "line %d the quick \x1b[31mbrown\x1b[0m fox jumps over the lazy dog 0123456789\r\n", i)
	}
	data := buf.Bytes()
	s := New(120, 40)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s.Write(data)
	}
}

// The alternate screen's memory comes with its first use; entered after a resize it has the new size.
func TestAlternateScreenFirstUsedAfterResize(t *testing.T) {
	s := New(10, 3)
	s.Write([]byte("main"))
	s.Resize(20, 5)
	s.Write([]byte("\x1b[?47h\x1b[5;15Halt"))
	if got := s.Line(4); got != strings.Repeat(" ", 14)+"alt" {
		t.Fatalf("alternate row 5 = %q", got)
	}
	s.Write([]byte("\x1b[?47l"))
	if got := s.Line(0); got != "main" {
		t.Fatalf("main row 1 = %q", got)
	}
}
