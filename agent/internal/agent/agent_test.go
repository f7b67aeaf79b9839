package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simple-agent-manager/sam/agent/internal/config"
	"github.com/simple-agent-manager/sam/agent/internal/jwttest"
)

// fakeControlPlane answers the agent's calls and signs its CSR with a throwaway CA.
type fakeControlPlane struct {
	t      *testing.T
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	mu     sync.Mutex
	paths  []string
	beats  int
}

func newFakeControlPlane(t *testing.T) *fakeControlPlane {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(der)
	return &fakeControlPlane{t: t, caCert: ca, caKey: caKey}
}

func (f *fakeControlPlane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/bootstrap/"):
		var body struct{ CSR string }
		json.NewDecoder(r.Body).Decode(&body)
		block, _ := pem.Decode([]byte(body.CSR))
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			http.Error(w, "bad csr", 400)
			return
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject, DNSNames: csr.DNSNames,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, f.caCert, csr.PublicKey, f.caKey)
		cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		json.NewEncoder(w).Encode(map[string]any{"workspace_id": "ws1", "callback_token": "cb1",
			"callback_token_expires_at": time.Now().Add(time.Hour).Format(time.RFC3339), "repository": nil,
			"agent_cli": "none", "certificate": cert})
	case strings.HasSuffix(r.URL.Path, "/heartbeat"):
		f.mu.Lock()
		f.beats++
		action := "continue"
		if f.beats >= 3 {
			action = "stop"
		}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"action": action, "callback_token": "cb2"})
	case strings.HasSuffix(r.URL.Path, "/credentials"):
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"Claude Code needs an Anthropic API key: add one in Settings.","code":"missing_credential"}`))
	default:
		w.Write([]byte(`{}`))
	}
}

func TestAgentBootstrapsServesTLSAndStopsWhenAsked(t *testing.T) {
	cp := newFakeControlPlane(t)
	cpServer := httptest.NewServer(cp)
	defer cpServer.Close()
	iss := jwttest.New(t, "ws1")
	dataDir := t.TempDir()
	env := map[string]string{
		"SAM_WORKSPACE_ID": "ws1", "SAM_CONTROL_PLANE_URL": cpServer.URL, "SAM_BOOTSTRAP_TOKEN": "boot",
		"SAM_LISTEN_ADDR": "127.0.0.1:0", "SAM_HOSTNAME": "ws-ws1.example.test", "SAM_DATA_DIR": dataDir, "SAM_RUN_DIR": t.TempDir(),
		"SAM_WORKSPACE_DIR": t.TempDir(), "SAM_JWKS_URL": iss.JWKSURL, "SAM_HEARTBEAT_INTERVAL": "1s", "SAM_SHELL": "/bin/sh",
		"SAM_TOOLS_DIR": toolsWithAdapter(t), "SAM_JWT_ISSUER": iss.URL,
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), cfg, Options{Executable: "/bin/true", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Listening: func(a net.Addr) { addr <- a }})
	}()
	var a net.Addr
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("agent ended early: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cp.caCert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "ws-ws1.example.test"}}}
	resp, err := client.Get("https://" + a.String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("health %s", body)
	}
	// Chats are served, and a chat asks the control plane for the owner's credential before it starts.
	req, _ := http.NewRequest("POST", "https://"+a.String()+"/api/chats", strings.NewReader(`{"agent":"claude-code"}`))
	req.Header.Set("Authorization", "Bearer "+iss.Valid(t))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "add one in Settings") {
		t.Fatalf("chat without a credential: %d %s", resp.StatusCode, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent did not stop when asked")
	}
	for _, name := range []string{"state.json", "tls.key"} {
		info, err := os.Stat(dataDir + "/" + name)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", name, info, err)
		}
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	joined := strings.Join(cp.paths, " ")
	for _, want := range []string{"/api/bootstrap/boot", "/api/workspaces/ws1/boot-log", "/api/workspaces/ws1/ready", "/api/workspaces/ws1/heartbeat"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("control plane never saw %s: %s", want, joined)
		}
	}
}

// toolsWithAdapter is a tools prefix holding a claude-agent-acp that is never run.
func toolsWithAdapter(t *testing.T) string {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/bin", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/bin/claude-agent-acp", []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
