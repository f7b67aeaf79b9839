module github.com/simple-agent-manager/sam/agent

go 1.26.8
