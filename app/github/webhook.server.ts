import { z } from "zod";
import { accountSchema } from "../providers/github.server";

/**
 * GitHub App webhooks: signature check (X-Hub-Signature-256) and the `installation` and
 * `installation_repositories` payloads, parsed to the fields the app keeps.
 */

const encoder = new TextEncoder();
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    if (hmacKeys.size >= 4) hmacKeys.clear();
    hmacKeys.set(secret, key);
  }
  return key;
}

/**
 * True when `X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of the raw body under the secret.
 * `crypto.subtle.verify` compares in constant time. Verify the exact bytes received, before parsing.
 */
export async function verifyWebhookSignature(
  secret: string,
  body: string | ArrayBuffer,
  signatureHeader: string | null,
): Promise<boolean> {
  if (!secret || !signatureHeader) return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(signatureHeader.trim());
  if (!match) return false;
  const hex = match[1]!;
  const signature = new Uint8Array(32);
  for (let i = 0; i < 32; i++) signature[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  const data = typeof body === "string" ? encoder.encode(body) : new Uint8Array(body);
  return crypto.subtle.verify("HMAC", await hmacKey(secret), signature, data);
}

const repositoryRef = z.object({ id: z.number(), name: z.string(), full_name: z.string(), private: z.boolean() });
/** In an `added` event GitHub documents the (empty) removed list with no required fields, and vice versa. */
const looseRepositoryRef = z.object({
  id: z.number(),
  name: z.string().optional(),
  full_name: z.string().optional(),
  private: z.boolean().optional(),
});
const sender = z.object({ id: z.number(), login: z.string() }).transform(({ id, login }) => ({ id, login }));
const installation = z
  .object({
    id: z.number(),
    account: accountSchema.nullable(),
    repository_selection: z.enum(["all", "selected"]),
    suspended_at: z.string().nullable().optional(),
    permissions: z.record(z.string(), z.string()).optional(),
  })
  .transform((value) => ({
    id: value.id,
    account: value.account,
    repositorySelection: value.repository_selection,
    suspendedAt: value.suspended_at ?? null,
    permissions: value.permissions ?? {},
  }));

const installationEvent = z
  .object({
    action: z.enum(["created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"]),
    installation,
    repositories: z.array(repositoryRef).optional(),
    sender,
  })
  .transform((payload) => ({
    event: "installation" as const,
    action: payload.action,
    installation: payload.installation,
    repositories: payload.repositories ?? [],
    sender: payload.sender,
  }));

const installationRepositoriesEvent = z
  .object({
    action: z.enum(["added", "removed"]),
    installation,
    repository_selection: z.enum(["all", "selected"]),
    repositories_added: z.array(looseRepositoryRef),
    repositories_removed: z.array(looseRepositoryRef),
    sender,
  })
  .transform((payload) => ({
    event: "installation_repositories" as const,
    action: payload.action,
    installation: payload.installation,
    repositorySelection: payload.repository_selection,
    repositoriesAdded: payload.repositories_added,
    repositoriesRemoved: payload.repositories_removed,
    sender: payload.sender,
  }));

export type InstallationWebhook = z.output<typeof installationEvent>;
export type InstallationRepositoriesWebhook = z.output<typeof installationRepositoriesEvent>;
export type ParsedWebhook = InstallationWebhook | InstallationRepositoriesWebhook;

export class WebhookPayloadError extends Error {
  constructor(
    readonly event: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(
      `The ${event} webhook payload does not match GitHub's schema: ${issues.map((issue) => `${issue.path.join(".") || "(root)"} ${issue.message}`).join("; ")}`,
    );
    this.name = "WebhookPayloadError";
  }
}

const handledActions: Record<string, readonly string[]> = {
  installation: installationEvent.in.shape.action.options,
  installation_repositories: installationRepositoriesEvent.in.shape.action.options,
};

/**
 * Parses a delivery by its `X-GitHub-Event` name. Returns null for events and actions the app does not
 * handle (e.g. `ping`), which should still be answered 2xx; throws WebhookPayloadError for a handled event
 * whose payload does not match (answer 400).
 */
export function parseWebhook(event: string, payload: unknown): ParsedWebhook | null {
  const actions = handledActions[event];
  const action = typeof payload === "object" && payload !== null ? (payload as { action?: unknown }).action : undefined;
  if (!actions || typeof action !== "string" || !actions.includes(action)) return null;
  const schema = event === "installation" ? installationEvent : installationRepositoriesEvent;
  const result = schema.safeParse(payload);
  if (!result.success) throw new WebhookPayloadError(event, result.error.issues);
  return result.data;
}
