// runcmd as it runs on a local server: scripts rewritten for the server's directory and this machine's
// architecture, run with sh as cloud-init runs them.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { arch } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PINNED_SHA256 } from "../../app/workspaces/tools";

const GO_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };
export const HOST_GO_ARCH = GO_ARCH[arch()] ?? arch();
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The download URL with `arch=` replaced by the host's Go architecture. */
export function withHostArch(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("arch", HOST_GO_ARCH);
  return parsed.toString();
}

/** The agent's SHA-256 per platform, from the version.json `npm start` uploaded with the binaries. */
function agentShas(): Record<string, string> {
  try {
    const { binaries } = JSON.parse(readFileSync(join(repoRoot, "agent/bin/version.json"), "utf8"));
    return Object.fromEntries(
      Object.entries(binaries as Record<string, { sha256: string }>).map(([k, v]) => [k, v.sha256]),
    );
  } catch {
    return {};
  }
}

const HOST_NODE_ARCH = arch() === "arm64" ? "arm64" : "x64";

/**
 * A runcmd script as it runs here: the server's directory stands for / (/opt/sam, /usr/local/bin/vm-agent),
 * and downloads name this machine's architecture, since the local cloud runs its own. A SHA-256 is swapped
 * for the host architecture's only where the script names the one that goes with the requested
 * architecture, so a download that does not match what the user-data says is still refused.
 */
export function localScript(script: string, dir: string): string {
  let out = script.replace(/\/api\/agent\/download\?os=linux&arch=(amd64|arm64)/g, (whole) =>
    whole.replace(/arch=(amd64|arm64)/, `arch=${HOST_GO_ARCH}`),
  );
  const requestedAgent = /\/api\/agent\/download\?os=linux&arch=(amd64|arm64)/.exec(script)?.[1];
  if (requestedAgent && requestedAgent !== HOST_GO_ARCH) {
    const shas = agentShas();
    const [from, to] = [shas[`linux-${requestedAgent}`], shas[`linux-${HOST_GO_ARCH}`]];
    if (from && to) out = out.split(from).join(to);
  }
  const requestedNode = /node-linux-(x64|arm64)\//.exec(script)?.[1] as "x64" | "arm64" | undefined;
  if (requestedNode && requestedNode !== HOST_NODE_ARCH) {
    const pinned = (a: "x64" | "arm64") => ({ sha256: PINNED_SHA256.node[a === "x64" ? "amd64" : "arm64"] });
    out = out
      .split(`node-linux-${requestedNode}`)
      .join(`node-linux-${HOST_NODE_ARCH}`)
      .split(pinned(requestedNode).sha256)
      .join(pinned(HOST_NODE_ARCH).sha256);
  }
  return out
    .replace(/(?<![\w./-])\/usr\/local\/bin\/vm-agent/g, join(dir, "vm-agent"))
    .replace(/(?<![\w./-])\/opt\/sam(?=[/\s;'"]|$)/g, join(dir, "opt/sam"));
}

/** Runs a shell script as cloud-init's runcmd does, logging its output; resolves to its exit code and last line. */
export function runScript(script: string, env: Record<string, string>, cwd: string, logFile: string) {
  return new Promise<{ code: number; last: string }>((done) => {
    const child = spawn(join(env.PATH!.split(":")[0]!, "sh"), ["-c", script], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (data: Buffer) => {
      output += data.toString();
      try {
        writeFileSync(logFile, data, { flag: "a" });
      } catch {
        // The server was deleted while it booted: its directory, log included, is gone, and the script with it.
        child.kill("SIGKILL");
      }
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      done({ code: 127, last: error.message });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const lines = output.trim().split("\n");
      done({ code: code ?? 1, last: lines.at(-1) ?? "" });
    });
  });
}
