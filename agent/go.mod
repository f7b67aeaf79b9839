module github.com/simple-agent-manager/sam/agent

go 1.26.8

require (
	github.com/MicahParks/keyfunc/v3 v3.9.1
	github.com/coder/acp-go-sdk v0.13.0
	github.com/coder/websocket v1.8.15
	github.com/creack/pty v1.1.24
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/mattn/go-runewidth v0.0.31
	golang.org/x/time v0.15.0
)

require (
	github.com/MicahParks/jwkset v0.11.4 // indirect
	github.com/clipperhouse/uax29/v2 v2.2.0 // indirect
)
