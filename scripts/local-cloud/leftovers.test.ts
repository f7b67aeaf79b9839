import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killLeftoverAgents } from "./leftovers";

describe("agents an earlier run left behind", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("are ended at start: only processes whose executable lies under the servers directory", async () => {
    dir = mkdtempSync(join(tmpdir(), "sam-leftovers-"));
    const serverDir = join(dir, "servers", "10000001");
    mkdirSync(serverDir, { recursive: true });
    // A copy of `sleep` stands in for the server's vm-agent binary.
    copyFileSync("/bin/sleep", join(serverDir, "vm-agent"));
    const leftover = spawn(join(serverDir, "vm-agent"), ["30"], { stdio: "ignore" });
    const bystander = spawn("/bin/sleep", ["30"], { stdio: "ignore" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ended = new Promise<NodeJS.Signals | null>((resolve) =>
      leftover.once("exit", (_, signal) => resolve(signal)),
    );
    const lines: string[] = [];
    expect(killLeftoverAgents(join(dir, "servers"), (line) => lines.push(line))).toBe(1);
    expect(await ended).toBe("SIGKILL");
    expect(bystander.exitCode).toBeNull();
    expect(lines.join("\n")).toContain("ended 1 agent(s)");
    bystander.kill();
  });
});
