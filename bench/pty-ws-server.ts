// The plainest terminal relay: one node-pty shell per WebSocket, bytes both ways as binary frames, the PTY
// paused while the socket has more than 1 MiB unsent. A peer for bench/run.ts, not part of the product.
import { createServer } from "node:http";
import { spawn } from "node-pty";
import { WebSocketServer } from "ws";

const server = createServer((_request, response) => response.writeHead(404).end());
const sockets = new WebSocketServer({ server, perMessageDeflate: false });

sockets.on("connection", (socket) => {
  const shell = spawn("/bin/sh", [], {
    name: "xterm-256color",
    cols: 80,
    rows: 24,
    cwd: process.env.HOME,
    env: process.env,
    encoding: null,
  });
  let paused = false;
  shell.onData((data) => {
    socket.send(data, { binary: true }, () => {
      if (paused && socket.bufferedAmount < 1 << 20) {
        paused = false;
        shell.resume();
      }
    });
    if (!paused && socket.bufferedAmount >= 1 << 20) {
      paused = true;
      shell.pause();
    }
  });
  shell.onExit(() => socket.close(1000));
  socket.on("message", (data: Buffer) => shell.write(data.toString("utf8")));
  socket.on("close", () => shell.kill());
});

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  console.log(`listening on 127.0.0.1:${port}`);
});
process.on("SIGTERM", () => process.exit(0));
