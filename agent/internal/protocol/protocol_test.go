package protocol

import (
	"errors"
	"testing"
)

func TestParseControl(t *testing.T) {
	tests := []struct {
		in   string
		want Control
		ok   bool
	}{
		{`{"type":"ping"}`, Control{Type: "ping"}, true},
		{`{"type":"resize","cols":80,"rows":24}`, Control{Type: "resize", Cols: 80, Rows: 24}, true},
		{` {"type":"resize","cols":1000,"rows":1} `, Control{Type: "resize", Cols: 1000, Rows: 1}, true},
		{`{"type":"resize","cols":0,"rows":24}`, Control{}, false},
		{`{"type":"resize","cols":1001,"rows":24}`, Control{}, false},
		{`{"type":"resize","cols":80}`, Control{}, false},
		{`{"type":"resize","cols":80.5,"rows":24}`, Control{}, false},
		{`{"type":"resize","cols":"80","rows":24}`, Control{}, false},
		{`{"type":"ping","cols":1}`, Control{}, false},
		{`{"type":"pong"}`, Control{}, false},
		{`{"type":"exec","cmd":"rm"}`, Control{}, false},
		{`{"type":"ping"}{"type":"ping"}`, Control{}, false},
		{`{"type":"ping"} x`, Control{}, false},
		{`{"type":"ping"}}`, Control{}, false},
		{`{"type":"ping"}]`, Control{}, false},
		{`{"type":"ping"} }`, Control{}, false},
		{"{\"type\":\"ping\"} \n", Control{Type: "ping"}, true},
		{`[]`, Control{}, false},
		{``, Control{}, false},
		{`null`, Control{}, false},
		{`{"type":"ping","pad":"` + string(make([]byte, 300)) + `"}`, Control{}, false},
	}
	for _, tt := range tests {
		got, err := ParseControl([]byte(tt.in))
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseControl(%.40q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidControl) {
			t.Errorf("ParseControl(%.40q) error %v is not ErrInvalidControl", tt.in, err)
		}
	}
}

func FuzzParseControl(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping"}`,
		`{"type":"resize","cols":80,"rows":24}`,
		`{"type":"resize","cols":-1,"rows":99999999999999999999}`,
		`{"type":"resize","cols":1e3,"rows":1}`,
		`{"type":"\u0070ing"}`,
		`{"type":"ping","type":"resize"}`,
		`{`, `"`, "\xff\xfe", `{"type":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseControl(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidControl) {
				t.Fatalf("error not wrapped: %v", err)
			}
			if c != (Control{}) {
				t.Fatalf("non-zero control with error: %+v", c)
			}
			return
		}
		if len(data) > MaxControlBytes {
			t.Fatalf("accepted %d bytes", len(data))
		}
		switch c.Type {
		case TypePing:
			if c.Cols != 0 || c.Rows != 0 {
				t.Fatalf("ping with dimensions: %+v", c)
			}
		case TypeResize:
			if !ValidDimension(c.Cols) || !ValidDimension(c.Rows) {
				t.Fatalf("resize out of range: %+v", c)
			}
		default:
			t.Fatalf("unknown type accepted: %+v", c)
		}
	})
}
