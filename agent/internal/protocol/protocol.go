// Package protocol holds the sam.terminal.v1 wire format: subprotocol names, JSON control messages carried in
// text frames, and WebSocket close codes. Terminal bytes travel in binary frames and never pass through here.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

const (
	// Subprotocol is the only protocol version the agent speaks; the server selects it.
	Subprotocol = "sam.terminal.v1"
	// BearerPrefix marks the offered subprotocol that carries the terminal token.
	BearerPrefix = "bearer."
	// Version is the number sent in the hello message.
	Version = 1
	// MaxControlBytes bounds a client text frame.
	MaxControlBytes = 256
	// MaxDimension bounds cols and rows.
	MaxDimension = 1000
)

// Close codes sent by the agent.
const (
	CloseSessionExited = 1000 // the session's process exited (after an exit message)
	CloseGoingAway     = 1001 // the agent is shutting down
	CloseTooSlow       = 4008 // the client fell behind the output; reconnect to resync from a fresh snapshot
	CloseSessionGone   = 4404 // the session was deleted (or never existed)
)

// Control message types.
const (
	TypeResize = "resize"
	TypePing   = "ping"
	TypePong   = "pong"
	TypeExit   = "exit"
	TypeError  = "error"
	TypeHello  = "hello"
)

// ErrInvalidControl is returned for any client text frame that is not a valid control message.
var ErrInvalidControl = errors.New("invalid control message")

// Control is a validated client→server control message.
type Control struct {
	Type string
	Cols int
	Rows int
}

type rawControl struct {
	Type string `json:"type"`
	Cols *int   `json:"cols"`
	Rows *int   `json:"rows"`
}

// ParseControl validates a client text frame strictly: bounded size, one JSON object, known type, no unknown
// fields, and for resize both cols and rows in 1..MaxDimension.
func ParseControl(data []byte) (Control, error) {
	if len(data) > MaxControlBytes {
		return Control{}, fmt.Errorf("%w: %d bytes exceeds %d", ErrInvalidControl, len(data), MaxControlBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw rawControl
	if err := dec.Decode(&raw); err != nil {
		return Control{}, fmt.Errorf("%w: %w", ErrInvalidControl, err)
	}
	// Only the end of input may follow: Token errors on a stray '}' or ']', so anything but io.EOF is trailing data.
	if _, err := dec.Token(); err != io.EOF {
		return Control{}, fmt.Errorf("%w: trailing data", ErrInvalidControl)
	}
	switch raw.Type {
	case TypePing:
		if raw.Cols != nil || raw.Rows != nil {
			return Control{}, fmt.Errorf("%w: ping takes no fields", ErrInvalidControl)
		}
		return Control{Type: TypePing}, nil
	case TypeResize:
		if raw.Cols == nil || raw.Rows == nil {
			return Control{}, fmt.Errorf("%w: resize needs cols and rows", ErrInvalidControl)
		}
		if !ValidDimension(*raw.Cols) || !ValidDimension(*raw.Rows) {
			return Control{}, fmt.Errorf("%w: cols and rows must be 1..%d", ErrInvalidControl, MaxDimension)
		}
		return Control{Type: TypeResize, Cols: *raw.Cols, Rows: *raw.Rows}, nil
	default:
		return Control{}, fmt.Errorf("%w: unknown type %q", ErrInvalidControl, raw.Type)
	}
}

// ValidDimension reports whether n is an acceptable cols or rows value.
func ValidDimension(n int) bool { return n >= 1 && n <= MaxDimension }

// SessionInfo describes a session in HTTP answers and the hello message.
type SessionInfo struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	CreatedAt       string `json:"created_at"`
	Cols            int    `json:"cols"`
	Rows            int    `json:"rows"`
	AttachedClients int    `json:"attached_clients"`
	Exited          bool   `json:"exited"`
	ExitCode        *int   `json:"exit_code"`
}

// Hello is the first text frame on every attach.
type Hello struct {
	Type     string      `json:"type"`
	Session  SessionInfo `json:"session"`
	Protocol int         `json:"protocol"`
}

// Exit tells the client the session's process ended.
type Exit struct {
	Type string `json:"type"`
	Code int    `json:"code"`
}

// Error reports a problem with a client message; the connection may stay open.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// PongMessage is the constant answer to a ping.
var PongMessage = []byte(`{"type":"pong"}`)
