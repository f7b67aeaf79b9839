package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEnvironmentIsAGetWithTheCallbackToken(t *testing.T) {
	var method, auth, path string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, auth, path = r.Method, r.Header.Get("Authorization"), r.URL.Path
		body, _ = io.ReadAll(r.Body)
		w.Write([]byte(`{"variables":[{"name":"GREETING","value":"hi"},{"name":"EMPTY","value":""}]}`))
	}))
	defer srv.Close()
	vars, err := New(srv.URL, "ws 1", func() string { return "cb1" }).Environment(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet || auth != "Bearer cb1" || path != "/api/workspaces/ws 1/environment" || len(body) != 0 {
		t.Fatalf("request %s %s %q body %q", method, path, auth, body)
	}
	want := []EnvironmentVariable{{Name: "GREETING", Value: "hi"}, {Name: "EMPTY", Value: ""}}
	if len(vars) != 2 || vars[0] != want[0] || vars[1] != want[1] {
		t.Fatalf("variables %+v", vars)
	}
}

func TestEnvironmentRefusedIsAStatusError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"expired"}`))
	}))
	defer srv.Close()
	_, err := New(srv.URL, "ws1", func() string { return "cb1" }).Environment(context.Background())
	var status *StatusError
	if !errors.As(err, &status) || status.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v", err)
	}
}

func TestWireShapes(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"heartbeat without a repository", HeartbeatRequest{}, `{"last_input_at":null,"last_output_at":null,"attached_clients":0,"sessions":0,"agent_running":false,"agent_turn_in_flight":false,"unsaved_work":null}`},
		{"heartbeat with unsaved work", HeartbeatRequest{UnsavedWork: &UnsavedWork{Uncommitted: 2, Unpushed: 1}}, `{"last_input_at":null,"last_output_at":null,"attached_clients":0,"sessions":0,"agent_running":false,"agent_turn_in_flight":false,"unsaved_work":{"uncommitted":2,"unpushed":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := json.Marshal(tt.in)
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	var resp BootstrapResponse
	if err := json.Unmarshal([]byte(`{"callback_token":"cb","rerun_setup":true}`), &resp); err != nil || !resp.RerunSetup {
		t.Fatalf("rerun_setup not read: %+v %v", resp, err)
	}
}
