// Entry point: `tsx scripts/local-cloud/index.ts` (started by scripts/dev.mjs). See docs/local-cloud.md.
import { optionsFromEnv } from "./config";
import { startLocalCloud } from "./server";

export { startLocalCloud } from "./server";
export type { LocalCloud } from "./server";
export type { LocalCloudOptions } from "./config";

async function main(): Promise<void> {
  const cloud = await startLocalCloud(optionsFromEnv(process.env));
  console.log(`local cloud ready on ${cloud.url}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`local cloud: ${signal}, stopping agents`);
    // close() sends SIGTERM to each agent group and SIGKILL after 3 s.
    const forced = setTimeout(() => process.exit(1), 10_000);
    forced.unref();
    cloud.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (process.argv[1] && /local-cloud[/\\]index\.ts$/.test(process.argv[1])) {
  main().catch((error) => {
    console.error(`local cloud failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
}
