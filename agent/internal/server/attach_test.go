package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/simple-agent-manager/sam/agent/internal/protocol"
	"github.com/simple-agent-manager/sam/agent/internal/screen"
)

func TestReattachRestoresShellOutput(t *testing.T) {
	e := newEnv(t)
	info := e.createSession(t, `{"command":["/bin/sh"]}`)
	first := attachOK(t, e, info.ID)
	first.send(t, "echo MARK_$((40+2))\n")
	first.readUntil(t, "MARK_42\r\n")
	first.conn.Close(websocket.StatusNormalClosure, "bye")

	second := attachOK(t, e, info.ID)
	second.readUntil(t, "MARK_42")
	second.send(t, "echo AFTER_$((1+1))\n")
	second.readUntil(t, "AFTER_2\r\n")
	if n := strings.Count(second.raw.String(), "MARK_42\r\n"); n != 1 {
		t.Fatalf("marker output appears %d times after reattach", n)
	}
}

func TestReattachRestoresFullScreenProgram(t *testing.T) {
	e := newEnv(t)
	script := `printf 'before\r\n\033[?1049h\033[?1h\033[H\033[2JFULLSCREEN\033[5;3Hstatus line\033[2;4H'; sleep 60`
	info := e.createSession(t, fmt.Sprintf(`{"cols":40,"rows":10,"command":["/bin/sh","-c",%q]}`, script))
	first := attachOK(t, e, info.ID)
	first.readUntil(t, "status line")
	first.conn.CloseNow()

	second := attachOK(t, e, info.ID)
	second.readUntil(t, "status line")
	time.Sleep(200 * time.Millisecond) // let the rest of the snapshot frames arrive
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	for {
		typ, b, err := second.conn.Read(ctx)
		if err != nil {
			break
		}
		if typ == websocket.MessageBinary {
			second.raw.Write(b)
		}
	}
	term := screen.New(40, 10)
	term.Write(second.raw.Bytes())
	if !term.AltScreen() || term.Line(0) != "FULLSCREEN" || term.Line(4) != "  status line" {
		t.Fatalf("restored screen: alt=%v %q %q", term.AltScreen(), term.Line(0), term.Line(4))
	}
	if x, y := term.Cursor(); x != 3 || y != 1 {
		t.Fatalf("cursor = %d,%d, want 3,1", x, y)
	}
	if !bytes.Contains(second.raw.Bytes(), []byte("\x1b[?1h")) {
		t.Fatal("application cursor mode not restored")
	}
}

func TestMultibyteSplitAcrossReadsArrivesIntact(t *testing.T) {
	e := newEnv(t)
	// 世 is e4 b8 96 and 😀 is f0 9f 98 80; each is written in two parts with a pause between.
	script := `sleep 0.5; printf 'A\344'; sleep 0.3; printf '\270\226B\360\237'; sleep 0.3; printf '\230\200C\n'; sleep 60`
	info := e.createSession(t, fmt.Sprintf(`{"command":["/bin/sh","-c",%q]}`, script))
	tr := attachOK(t, e, info.ID)
	tr.readUntil(t, "C\r\n")
	// Normally all of it arrives live; if the attach was slow, part of it is in the snapshot, and either way
	// the bytes must decode to the same characters.
	term := screen.New(80, 24)
	term.Write(tr.raw.Bytes())
	if !utf8.Valid(tr.raw.Bytes()) || term.Line(0) != "A世B😀C" {
		t.Fatalf("output = %q, screen line %q", tr.raw.Bytes(), term.Line(0))
	}
}

func TestSlowClientIsDroppedWithoutBlockingOthers(t *testing.T) {
	e := newEnv(t)
	info := e.createSession(t, `{"command":["/bin/sh","-c","sleep 0.5; yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"]}`)
	slow, _, err := e.dial(t, info.ID, e.iss.Valid(t), origin) // never reads
	if err != nil {
		t.Fatal(err)
	}
	_ = slow
	fast := attachOK(t, e, info.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	received := 0
	for received < 32<<20 {
		typ, b, err := fast.conn.Read(ctx)
		if err != nil {
			t.Fatalf("fast client stopped after %d bytes: %v", received, err)
		}
		if typ == websocket.MessageBinary {
			received += len(b)
		}
	}
	sess, _ := e.sessions.Get(info.ID)
	deadline := time.Now().Add(20 * time.Second)
	for sess.Info().AttachedClients != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("slow client still attached: %+v", sess.Info())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExitAndDeleteCloseCodes(t *testing.T) {
	e := newEnv(t)
	info := e.createSession(t, `{"command":["/bin/sh","-c","read x; exit 7"]}`)
	tr := attachOK(t, e, info.ID)
	tr.send(t, "go\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sawExit bool
	for {
		typ, b, err := tr.conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != protocol.CloseSessionExited || !sawExit {
				t.Fatalf("close = %v, sawExit %v", err, sawExit)
			}
			break
		}
		if typ == websocket.MessageText && string(b) == `{"type":"exit","code":7}` {
			sawExit = true
		}
	}

	info = e.createSession(t, `{"command":["/bin/sh","-c","sleep 60"]}`)
	tr = attachOK(t, e, info.ID)
	if err := e.sessions.Delete(info.ID); err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err := tr.conn.Read(ctx)
		if err != nil {
			if got := websocket.CloseStatus(err); got != protocol.CloseSessionGone {
				t.Fatalf("close after delete = %v", err)
			}
			break
		}
	}
}

func TestControlMessages(t *testing.T) {
	e := newEnv(t)
	info := e.createSession(t, `{"command":["/bin/sh"]}`)
	tr := attachOK(t, e, info.ID)
	ctx := context.Background()
	read := func() string {
		for {
			typ, b, err := tr.conn.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if typ == websocket.MessageText {
				return string(b)
			}
		}
	}
	tr.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
	if got := read(); got != `{"type":"pong"}` {
		t.Fatalf("ping answer = %s", got)
	}
	tr.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"resize","cols":0,"rows":5}`))
	if got := read(); !strings.Contains(got, `"type":"error"`) {
		t.Fatalf("invalid resize answer = %s", got)
	}
	tr.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"resize","cols":123,"rows":45}`))
	tr.send(t, "stty size\n")
	tr.readUntil(t, "45 123")
}

func TestShutdownClosesWithGoingAway(t *testing.T) {
	e := newEnv(t)
	info := e.createSession(t, `{"command":["/bin/sh","-c","sleep 60"]}`)
	tr := attachOK(t, e, info.ID)
	done := make(chan error, 1)
	go func() { done <- e.srv.CloseConnections(context.Background()) }()
	var err error
	for err == nil {
		_, _, err = tr.conn.Read(context.Background())
	}
	if websocket.CloseStatus(err) != protocol.CloseGoingAway {
		t.Fatalf("close = %v", err)
	}
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
