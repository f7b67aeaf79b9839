/// <reference types="@cloudflare/workers-types/2023-07-01" />

interface Env {
  DB: D1Database;
  SESSIONS: KVNamespace;
  AGENTS: R2Bucket;
  [name: string]: unknown;
}
