import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const id = () =>
  text("id")
    .primaryKey()
    .$defaultFn(() => crypto.randomUUID());
const createdAt = () =>
  integer("created_at", { mode: "timestamp_ms" }).notNull().default(sql`(unixepoch('subsec') * 1000)`);
const updatedAt = () =>
  integer("updated_at", { mode: "timestamp_ms" }).notNull().default(sql`(unixepoch('subsec') * 1000)`);

export const themes = ["system", "light", "dark"] as const;
export type Theme = (typeof themes)[number];

export const users = sqliteTable("users", {
  id: id(),
  githubId: integer("github_id").notNull().unique(),
  login: text("login").notNull(),
  name: text("name"),
  avatarUrl: text("avatar_url"),
  email: text("email"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
  lastSignInAt: integer("last_sign_in_at", { mode: "timestamp_ms" }),
  /** Light or dark pages, or whatever the browser prefers ("system"); kept per user, not per browser. */
  theme: text("theme", { enum: themes }).notNull().default("system"),
});

export const credentialKinds = [
  "hetzner",
  "anthropic_api_key",
  "claude_oauth_token",
  "openai_api_key",
  "github_user_token",
] as const;
export type CredentialKind = (typeof credentialKinds)[number];

/** Secrets a user stored: AES-256-GCM ciphertext with the user id as additional data; never sent to a browser. */
export const credentials = sqliteTable(
  "credentials",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: credentialKinds }).notNull(),
    ciphertext: text("ciphertext").notNull(),
    iv: text("iv").notNull(),
    keyVersion: integer("key_version").notNull(),
    last4: text("last4").notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [uniqueIndex("credentials_user_kind").on(table.userId, table.kind)],
);

export const githubInstallations = sqliteTable(
  "github_installations",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    installationId: integer("installation_id").notNull(),
    accountLogin: text("account_login").notNull(),
    accountType: text("account_type").notNull(),
    repositorySelection: text("repository_selection").notNull(),
    repositoryCount: integer("repository_count"),
    suspendedAt: integer("suspended_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex("github_installations_user_installation").on(table.userId, table.installationId),
    index("github_installations_installation").on(table.installationId),
  ],
);

export const workspaceStatuses = ["creating", "running", "stopping", "stopped", "error"] as const;
export type WorkspaceStatus = (typeof workspaceStatuses)[number];
/** A workspace in these states may have a server (and so a bill) in the cloud. */
export const LIVE_STATUSES = ["creating", "running", "stopping"] as const satisfies readonly WorkspaceStatus[];

export const workspaces = sqliteTable(
  "workspaces",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    status: text("status", { enum: workspaceStatuses }).notNull().default("creating"),
    repository: text("repository"),
    branch: text("branch"),
    installationId: integer("installation_id"),
    size: text("size").notNull(),
    serverType: text("server_type").notNull(),
    location: text("location").notNull(),
    agentCli: text("agent_cli").notNull().default("none"),
    hourlyPrice: text("hourly_price"),
    serverId: integer("server_id"),
    firewallId: integer("firewall_id"),
    ipv4: text("ipv4"),
    dnsRecordId: text("dns_record_id"),
    /** The Origin CA certificate the current run's agent got; revoked at teardown. */
    certificateId: text("certificate_id"),
    idleTimeoutSeconds: integer("idle_timeout_seconds").notNull().default(1800),
    maxLifetimeSeconds: integer("max_lifetime_seconds").notNull().default(43200),
    lastActivityAt: integer("last_activity_at", { mode: "timestamp_ms" }),
    lastHeartbeatAt: integer("last_heartbeat_at", { mode: "timestamp_ms" }),
    error: text("error"),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    stoppedAt: integer("stopped_at", { mode: "timestamp_ms" }),
    billedSeconds: integer("billed_seconds").notNull().default(0),
    /** Callback tokens issued up to this moment are refused (the owner's access ended); see docs/security.md. */
    callbacksRevokedAt: integer("callbacks_revoked_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [index("workspaces_user").on(table.userId, table.createdAt), index("workspaces_status").on(table.status)],
);

/** The boot log and lifecycle of a workspace, shown as its timeline. */
export const workspaceEvents = sqliteTable(
  "workspace_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    step: text("step").notNull(),
    status: text("status", { enum: ["started", "ok", "error", "info"] }).notNull(),
    message: text("message"),
    createdAt: createdAt(),
  },
  (table) => [index("workspace_events_workspace").on(table.workspaceId, table.id)],
);

/** One-time tokens a VM redeems at boot; only the SHA-256 of the token is stored. */
export const bootstrapTokens = sqliteTable(
  "bootstrap_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    consumedAt: integer("consumed_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (table) => [index("bootstrap_tokens_expires").on(table.expiresAt)],
);

/**
 * Browser sessions that signed out: terminal tokens carry a hash of the session they were minted for
 * (`sid`), and the agents refuse and drop those whose session is listed here (heartbeats tell them).
 */
export const endedSessions = sqliteTable(
  "ended_sessions",
  {
    sessionHash: text("session_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [index("ended_sessions_user").on(table.userId, table.endedAt)],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: text("user_id").references(() => users.id, { onDelete: "set null" }),
    action: text("action").notNull(),
    ip: text("ip"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (table) => [index("audit_log_user").on(table.userId, table.id)],
);

/** Instance policy set by admins (one row per key, JSON value). */
export const instanceSettings = sqliteTable("instance_settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).notNull(),
  updatedAt: updatedAt(),
});

/**
 * Where the sweep's per-user passes stopped when a run used up its call budget (one cron invocation may make
 * only so many subrequests), so the next run goes on from there: one row per pass, the last user done.
 */
export const sweepCursors = sqliteTable("sweep_cursors", {
  pass: text("pass").primaryKey(),
  after: text("after").notNull(),
  updatedAt: updatedAt(),
});

/**
 * The GitHub account each login in ADMIN_GITHUB_LOGINS or the allow-list was first seen with. A login can be
 * renamed away and registered by someone else; their account has another id and is refused under that login.
 */
export const githubLoginPins = sqliteTable("github_login_pins", {
  login: text("login").primaryKey(),
  githubId: integer("github_id").notNull(),
  createdAt: createdAt(),
});

/** GitHub webhook deliveries already handled (`X-GitHub-Delivery`); GitHub redelivers, and so can a replayer. */
export const githubWebhookDeliveries = sqliteTable(
  "github_webhook_deliveries",
  {
    deliveryId: text("delivery_id").primaryKey(),
    receivedAt: integer("received_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [index("github_webhook_deliveries_received").on(table.receivedAt)],
);

/** Fixed-window counters for rate limits (docs/decisions/0005-rate-limits-in-d1.md): one row per limit and caller. */
export const rateLimits = sqliteTable(
  "rate_limits",
  {
    key: text("key").primaryKey(),
    windowStart: integer("window_start").notNull(),
    count: integer("count").notNull(),
  },
  (table) => [index("rate_limits_window").on(table.windowStart)],
);

/**
 * One-time tokens for `npm run smoke` (scripts/smoke.ts), made by an admin in /admin/smoke. Only the SHA-256 is
 * stored; a token lasts 15 minutes and may make one workspace, the only one it can then see or delete.
 */
export const smokeTokens = sqliteTable("smoke_tokens", {
  tokenHash: text("token_hash").primaryKey(),
  userId: text("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  /** The smoke run's workspace; kept after the row is gone, so the run can check nothing was left. */
  workspaceId: text("workspace_id"),
  /** The Origin CA certificate the run's agent got, remembered to check it was revoked. */
  certificateId: text("certificate_id"),
  createdAt: createdAt(),
});
