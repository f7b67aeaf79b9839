import { ProviderError, providerNames } from "../providers/http.server";
import type { Workspace } from "./workspaces.server";

export class ProvisioningAborted extends Error {
  constructor() {
    super("the workspace was stopped or deleted while it was being created");
    this.name = "ProvisioningAborted";
  }
}

/** A failure SAM itself found (not a provider's answer), whose message already says what to do. */
export class ActionableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ActionableError";
  }
}

/**
 * A sentence that says what went wrong and what to do; never a secret, never a stack trace. A workspace with
 * a volume (a restart) can only start where its volume is, which changes what a sold-out location means.
 */
export function explainError(
  error: unknown,
  workspace: Pick<Workspace, "serverType" | "location"> & Partial<Pick<Workspace, "volumeId">>,
): string {
  if (error instanceof ActionableError) return error.message;
  if (!(error instanceof ProviderError)) {
    return `Something unexpected went wrong (${error instanceof Error ? error.message : String(error)}): retry, and if it happens again check the server logs.`;
  }
  const name = providerNames[error.provider];
  const said = error.message ? ` (${name} said: ${error.message.replace(/\.$/, "")})` : "";
  if (error.provider === "hetzner") {
    // token_readonly comes with status 401 as well, so it is told apart first.
    if (error.code === "token_readonly")
      return "The Hetzner token is read-only: create one with Read & Write access and save it in Settings.";
    if (error.status === 401 || error.code === "unauthorized")
      return "Hetzner rejected the token: check it in Settings.";
    if (error.code === "resource_limit_exceeded")
      return `Your Hetzner project has reached a resource limit${said}: delete unused servers or volumes, or ask Hetzner to raise the limit, then retry.`;
    if (error.code === "resource_unavailable" || error.code === "placement_error" || error.status === 412) {
      if (workspace.volumeId)
        return `Hetzner has no ${workspace.serverType} servers available in ${workspace.location} right now. The workspace's files are on a volume in ${workspace.location}, and a volume cannot move to another location, so it can only start there: retry later. Nothing but the volume is billed meanwhile.`;
      return `Hetzner has no capacity for ${workspace.serverType} in ${workspace.location}: pick another location or size.`;
    }
    if (error.status === 423 || error.code === "locked")
      return `Hetzner is still busy with another action on this workspace's server or volume${said}: retry in a minute.`;
    if (error.status === 403) return `Hetzner refused the request${said}: check the token's permissions in Settings.`;
  }
  if (error.status === 429 || error.code === "rate_limited" || error.code === "rate_limit_exceeded")
    return `${name} is rate-limiting requests${error.retryAfterSeconds ? ` for about ${error.retryAfterSeconds} s` : ""}: wait a minute, then retry.`;
  if (error.code === "action_timeout")
    return `${name} was still working on it after the time SAM waits${said}: retry in a few minutes.`;
  if (error.status === 0 && error.code === "timeout")
    return `${name} did not answer in time: retry in a minute; if it keeps happening, check ${name}'s status page.`;
  if (error.status === 0) return `SAM could not reach ${name}: retry in a minute.`;
  if (error.status >= 500)
    return `${name} had an internal error (${error.status}): retry in a minute; if it keeps happening, check ${name}'s status page.`;
  if (error.provider === "cloudflare")
    return `Cloudflare refused the request${said}: the instance's Cloudflare token or zone may be wrong; tell the administrator.`;
  return `${name} refused the request${said}: check your settings and retry.`;
}
