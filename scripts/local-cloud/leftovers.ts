// A local cloud that died without stopping its servers (a crash, a SIGKILL) leaves their agents running,
// still listening on the servers' addresses: the next start on the same port would give new servers the same
// addresses and their agents would fail with "address already in use". So a start ends them first.
import { readdirSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";

/** Kills every process whose executable lies under `serversDir` (the agents of an earlier run); Linux only. */
export function killLeftoverAgents(serversDir: string, log: (line: string) => void): number {
  const prefix = `${resolve(serversDir)}/`;
  let killed = 0;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return 0; // no /proc: not Linux, and the servers' 127.x addresses need Linux anyway
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let exe: string;
    try {
      exe = readlinkSync(`/proc/${entry}/exe`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (!exe.startsWith(prefix)) continue;
    try {
      process.kill(Number(entry), "SIGKILL");
      killed++;
    } catch {}
  }
  if (killed) log(`local cloud: ended ${killed} agent(s) an earlier run left behind in ${serversDir}`);
  return killed;
}
