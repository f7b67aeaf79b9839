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
    /** The Hetzner Volume holding the repository, the user's home and the session logs; kept while stopped. */
    volumeId: integer("volume_id"),
    volumeSizeGb: integer("volume_size_gb"),
    /** Gross monthly price of the volume in EUR (Hetzner's pricing, per GB × size), as a decimal string. */
    volumeMonthlyPrice: text("volume_monthly_price"),
    /** When the owner was told the stopped workspace's volume will be deleted (admin policy's retention). */
    volumeReminderAt: integer("volume_reminder_at", { mode: "timestamp_ms" }),
    /** Set by "Run setup again": the next boot runs the setup script even though the volume's marker says done. */
    rerunSetup: integer("rerun_setup", { mode: "boolean" }).notNull().default(false),
    /** The agent's last word on the repository: uncommitted or unpushed work (from the heartbeat). */
    unsavedWork: text("unsaved_work", { mode: "json" }).$type<{ uncommitted: number; unpushed: number }>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("workspaces_user").on(table.userId, table.createdAt),
    index("workspaces_status").on(table.status),
    index("workspaces_volume").on(table.volumeId),
  ],
);

/**
 * Environment variables and secrets a user gives their workspaces on purpose: for every repository (`scope` "")
 * or one (`scope` "owner/name"). Values are AES-256-GCM ciphertext like credentials; names SAM uses are refused.
 */
export const workspaceEnvVars = sqliteTable(
  "workspace_env_vars",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    scope: text("scope").notNull().default(""),
    name: text("name").notNull(),
    /** Secrets are shown as •••• plus their last 4 characters; plain variables show their value. */
    secret: integer("secret", { mode: "boolean" }).notNull().default(true),
    ciphertext: text("ciphertext").notNull(),
    iv: text("iv").notNull(),
    keyVersion: integer("key_version").notNull(),
    last4: text("last4").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [uniqueIndex("workspace_env_vars_user_scope_name").on(table.userId, table.scope, table.name)],
);

export const taskStatuses = [
  "queued",
  "provisioning",
  "working",
  "needs_input",
  "ready",
  "pr_open",
  "failed",
  "cancelled",
] as const;
export type TaskStatus = (typeof taskStatuses)[number];

/** A prompt on a repository that ends in a reviewed pull request (docs/architecture.md, Tasks). */
export const tasks = sqliteTable(
  "tasks",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "set null" }),
    status: text("status", { enum: taskStatuses }).notNull().default("queued"),
    title: text("title").notNull(),
    prompt: text("prompt").notNull(),
    repository: text("repository").notNull(),
    installationId: integer("installation_id").notNull(),
    baseBranch: text("base_branch").notNull(),
    /** `sam/<slug>-<short id>`, created from the base before the agent starts; the only branch pushed. */
    branch: text("branch").notNull(),
    agentCli: text("agent_cli").notNull(),
    size: text("size").notNull(),
    /** The chat session running the prompt on the workspace's agent. */
    chatSessionId: text("chat_session_id"),
    /** Hetzner spend cap in euro cents (server hours and volume); null means none. */
    costCapCents: integer("cost_cap_cents"),
    /** The last commit the VM agent pushed to the branch. */
    headSha: text("head_sha"),
    pullNumber: integer("pull_number"),
    pullUrl: text("pull_url"),
    error: text("error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("tasks_user").on(table.userId, table.createdAt),
    index("tasks_status").on(table.status),
    index("tasks_workspace").on(table.workspaceId),
  ],
);

/** In-app notifications (the header's unread count and list); Web Push carries the same ones. */
export const notifications = sqliteTable(
  "notifications",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text("kind", {
      enum: ["permission_waiting", "task_ready", "task_failed", "idle_stop_soon", "volume_expiring"],
    }).notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    /** Where the notification leads (a path in the app). */
    url: text("url").notNull(),
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    taskId: text("task_id").references(() => tasks.id, { onDelete: "cascade" }),
    readAt: integer("read_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (table) => [index("notifications_user").on(table.userId, table.createdAt)],
);

/** Web Push subscriptions (RFC 8030/8291): the push service's endpoint and the browser's keys. */
export const pushSubscriptions = sqliteTable(
  "push_subscriptions",
  {
    id: id(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    endpoint: text("endpoint").notNull().unique(),
    p256dh: text("p256dh").notNull(),
    auth: text("auth").notNull(),
    createdAt: createdAt(),
  },
  (table) => [index("push_subscriptions_user").on(table.userId)],
);

/**
 * One-time answers to a waiting permission request, carried by a notification's Allow / Deny actions; only
 * the SHA-256 of the token is stored, and each is good for one answer to one request.
 */
export const permissionAnswerTokens = sqliteTable(
  "permission_answer_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    chatSessionId: text("chat_session_id").notNull(),
    requestId: text("request_id").notNull(),
    decision: text("decision", { enum: ["allow", "deny"] }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    consumedAt: integer("consumed_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (table) => [index("permission_answer_tokens_expires").on(table.expiresAt)],
);

/**
 * Answers given outside the chat page (a notification's action) that the workspace's agent has yet to apply;
 * the agent takes them over its control channel within seconds, then the row is marked delivered.
 */
export const pendingPermissionAnswers = sqliteTable(
  "pending_permission_answers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    chatSessionId: text("chat_session_id").notNull(),
    requestId: text("request_id").notNull(),
    decision: text("decision", { enum: ["allow", "deny"] }).notNull(),
    deliveredAt: integer("delivered_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
  },
  (table) => [index("pending_permission_answers_workspace").on(table.workspaceId, table.id)],
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
