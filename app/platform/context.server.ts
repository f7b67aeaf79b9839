import type { AppLoadContext } from "@remix-run/cloudflare";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { getConfig, type Config } from "./config.server";
import * as schema from "../db/schema";

export type Database = DrizzleD1Database<typeof schema>;

export interface Cloudflare {
  env: Env;
  ctx: Pick<ExecutionContext, "waitUntil" | "passThroughOnException">;
}

declare module "@remix-run/cloudflare" {
  interface AppLoadContext {
    cloudflare: Cloudflare;
    config: Config;
    db: Database;
  }
}

/** Builds the load context every loader and action receives; config is validated here, once per isolate. */
export function getLoadContext({
  context,
}: {
  request?: Request;
  context: { cloudflare: Cloudflare };
}): AppLoadContext {
  const { env } = context.cloudflare;
  return {
    cloudflare: context.cloudflare,
    config: getConfig(env),
    db: drizzle(env.DB, { schema }),
  };
}
