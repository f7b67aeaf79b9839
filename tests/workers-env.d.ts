/// <reference types="@cloudflare/vitest-pool-workers/types" />

declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    SESSIONS: KVNamespace;
    AGENTS: R2Bucket;
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    [name: string]: unknown;
  }
}
