import type { AppLoadContext } from "@remix-run/cloudflare";
import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { policyBounds } from "./schema";
import { githubLoginPins, instanceSettings } from "../db/schema";
import { sizeNames, type Size } from "../workspaces/sizes";

/** The instance's policy, set by admins on /admin and read by sign-in and the workspace code. */
export { sizes, sizeNames, type Size } from "../workspaces/sizes";

export const policySchema = z
  .object({
    allowedSizes: z.array(z.enum(sizeNames as [Size, ...Size[]])).min(1, "allow at least one size"),
    allowedLocations: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1, "allow at least one location"),
    maxWorkspacesPerUser: z
      .number()
      .int()
      .min(policyBounds.workspacesPerUser.min)
      .max(policyBounds.workspacesPerUser.max),
    defaultIdleMinutes: z.number().int().min(policyBounds.idleMinutes.min).max(policyBounds.idleMinutes.max),
    maxIdleMinutes: z.number().int().min(policyBounds.idleMinutes.min).max(policyBounds.idleMinutes.max),
    defaultLifetimeHours: z.number().int().min(policyBounds.lifetimeHours.min).max(policyBounds.lifetimeHours.max),
    maxLifetimeHours: z.number().int().min(policyBounds.lifetimeHours.min).max(policyBounds.lifetimeHours.max),
    allowedLogins: z.array(z.string().regex(/^[a-z0-9-]+$/)).nullable(),
    /** Whether new workspaces get a Hetzner Volume that outlives their server. */
    volumesEnabled: z.boolean(),
    /** The size of a new workspace's volume. */
    volumeDefaultGb: z.number().int().min(policyBounds.volumeGb.min).max(policyBounds.volumeGb.max),
    volumeMaxGb: z.number().int().min(policyBounds.volumeGb.min).max(policyBounds.volumeGb.max),
    /** The sum of the sizes of all of one user's volumes. */
    volumeTotalGbPerUser: z
      .number()
      .int()
      .min(policyBounds.volumeTotalGbPerUser.min)
      .max(policyBounds.volumeTotalGbPerUser.max),
    /** How long a stopped (or failed) workspace keeps its volume before the sweep deletes it. */
    volumeRetentionDays: z
      .number()
      .int()
      .min(policyBounds.volumeRetentionDays.min)
      .max(policyBounds.volumeRetentionDays.max),
    /** How many days before that deletion the owner is notified; 0 for no reminder. */
    volumeReminderDays: z
      .number()
      .int()
      .min(policyBounds.volumeReminderDays.min)
      .max(policyBounds.volumeReminderDays.max),
  })
  .refine((policy) => policy.defaultIdleMinutes <= policy.maxIdleMinutes, {
    message: "the default idle timeout exceeds the maximum",
    path: ["defaultIdleMinutes"],
  })
  .refine((policy) => policy.defaultLifetimeHours <= policy.maxLifetimeHours, {
    message: "the default lifetime exceeds the maximum",
    path: ["defaultLifetimeHours"],
  })
  .refine((policy) => policy.volumeDefaultGb <= policy.volumeMaxGb, {
    message: "the default volume size exceeds the maximum",
    path: ["volumeDefaultGb"],
  })
  .refine((policy) => policy.volumeMaxGb <= policy.volumeTotalGbPerUser, {
    message: "the largest volume exceeds the total per user",
    path: ["volumeMaxGb"],
  })
  .refine((policy) => policy.volumeReminderDays < policy.volumeRetentionDays, {
    message: "the volume reminder does not come before the deletion",
    path: ["volumeReminderDays"],
  });

export type Policy = z.infer<typeof policySchema>;

export const defaultPolicy: Policy = {
  allowedSizes: ["small", "medium", "large"],
  allowedLocations: ["fsn1", "nbg1", "hel1"],
  maxWorkspacesPerUser: 10,
  defaultIdleMinutes: 30,
  maxIdleMinutes: 24 * 60,
  defaultLifetimeHours: 12,
  maxLifetimeHours: 24,
  allowedLogins: null,
  volumesEnabled: true,
  volumeDefaultGb: 10,
  volumeMaxGb: 100,
  volumeTotalGbPerUser: 200,
  volumeRetentionDays: 30,
  volumeReminderDays: 3,
};

const POLICY_KEY = "policy";

// Read once per request (sign-in checks, forms and actions may each ask); the load context is one per request.
const policies = new WeakMap<object, Promise<Policy>>();

/** The sweep has no request, only the database and the config: it asks with those. */
type PolicyContext = Pick<AppLoadContext, "db" | "config">;

export function getPolicy(context: PolicyContext): Promise<Policy> {
  let policy = policies.get(context);
  if (!policy) {
    policy = readPolicy(context);
    policies.set(context, policy);
  }
  return policy;
}

async function readPolicy(context: PolicyContext): Promise<Policy> {
  const row = await context.db.query.instanceSettings.findFirst({
    where: (settings, { eq }) => eq(settings.key, POLICY_KEY),
  });
  const stored = row ? policySchema.safeParse({ ...defaultPolicy, ...(row.value as object) }) : null;
  const policy = stored?.success ? stored.data : defaultPolicy;
  // Until an admin saves an allow-list, ALLOWED_GITHUB_LOGINS seeds it.
  if (policy.allowedLogins === null && context.config.ALLOWED_GITHUB_LOGINS.length > 0) {
    return { ...policy, allowedLogins: context.config.ALLOWED_GITHUB_LOGINS };
  }
  return policy;
}

export async function savePolicy(context: PolicyContext, policy: Policy) {
  await context.db
    .insert(instanceSettings)
    .values({ key: POLICY_KEY, value: policy })
    .onConflictDoUpdate({ target: instanceSettings.key, set: { value: policy, updatedAt: new Date() } });
  policies.delete(context);
}

/** Who is asking, as GitHub knows them: the login can change hands, the numeric id cannot. */
export interface GitHubIdentity {
  login: string;
  githubId: number;
}

// One pin lookup per login per request (the root loader and the route both ask).
const pinsByRequest = new WeakMap<AppLoadContext, Map<string, Promise<number>>>();

/**
 * The GitHub id `login` is pinned to: the first account seen under it while it was on a list. An operator who
 * hands a login to a different account on purpose deletes its row in github_login_pins (docs/security.md).
 */
function pinnedId(context: AppLoadContext, { login, githubId }: GitHubIdentity): Promise<number> {
  const key = login.toLowerCase();
  let pins = pinsByRequest.get(context);
  if (!pins) pinsByRequest.set(context, (pins = new Map()));
  let pin = pins.get(key);
  if (!pin) {
    pin = (async () => {
      // Read first: once pinned (nearly always), a request costs one read, not a write.
      const pinned = await context.db.query.githubLoginPins.findFirst({ where: eq(githubLoginPins.login, key) });
      if (pinned) return pinned.githubId;
      // The upsert returns the row as it stands, so of two first sign-ins racing, both see the same winner.
      const [row] = await context.db
        .insert(githubLoginPins)
        .values({ login: key, githubId })
        .onConflictDoUpdate({ target: githubLoginPins.login, set: { login: sql`${githubLoginPins.login}` } })
        .returning({ githubId: githubLoginPins.githubId });
      return row?.githubId ?? githubId;
    })();
    pins.set(key, pin);
  }
  return pin;
}

/** Whether a listed login belongs to this account: listed, and pinned to this GitHub id. */
async function isListed(context: AppLoadContext, list: string[], identity: GitHubIdentity): Promise<boolean> {
  if (!list.includes(identity.login.toLowerCase())) return false;
  return (await pinnedId(context, identity)) === identity.githubId;
}

export function isAdmin(context: AppLoadContext, identity: GitHubIdentity): Promise<boolean> {
  return isListed(context, context.config.ADMIN_GITHUB_LOGINS, identity);
}

/** Admins may always sign in; otherwise an allow-list, when set, decides. */
export async function isLoginAllowed(context: AppLoadContext, identity: GitHubIdentity): Promise<boolean> {
  if (await isAdmin(context, identity)) return true;
  const { allowedLogins } = await getPolicy(context);
  if (allowedLogins === null || allowedLogins.length === 0) return true;
  return isListed(context, allowedLogins, identity);
}
