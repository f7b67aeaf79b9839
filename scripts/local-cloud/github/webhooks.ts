// Webhooks to the app: installation and installation_repositories events, signed and POSTed as GitHub does.
import { createHmac, randomUUID } from "node:crypto";
import { isoNow } from "../http";
import { installationJson, simpleUser } from "./shapes";
import type { Delivery, GitHubRepo, GitHubStore, Installation } from "./store";

function webhookRepos(repos: GitHubRepo[]) {
  return repos.map((repo) => ({
    id: repo.id,
    node_id: Buffer.from(`010:Repository${repo.id}`).toString("base64"),
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    private: repo.private,
  }));
}

function installationPayload(store: GitHubStore, installation: Installation, action: string) {
  return {
    action,
    installation: installationJson(store, installation),
    repositories: webhookRepos(store.installationRepos(installation)),
    requester: null,
    sender: simpleUser(store, store.userOf(installation.account)),
  };
}

export async function deliverInstallationEvent(
  store: GitHubStore,
  installation: Installation,
  action: "created" | "deleted" | "suspend" | "unsuspend" | "new_permissions_accepted",
): Promise<Delivery> {
  return deliver(store, "installation", action, installation.id, installationPayload(store, installation, action));
}

export async function deliverRepositoriesEvent(
  store: GitHubStore,
  installation: Installation,
  action: "added" | "removed",
  changed: GitHubRepo[],
  others: GitHubRepo[] = [],
): Promise<Delivery> {
  const payload = {
    action,
    installation: installationJson(store, installation),
    repository_selection: installation.selection,
    repositories_added: webhookRepos(action === "added" ? changed : others),
    repositories_removed: webhookRepos(action === "removed" ? changed : others),
    requester: null,
    sender: simpleUser(store, store.userOf(installation.account)),
  };
  return deliver(store, "installation_repositories", action, installation.id, payload);
}

/** POSTs a signed webhook to the app, as GitHub does (10 s timeout), and records the outcome. */
async function deliver(
  store: GitHubStore,
  event: string,
  action: string,
  installationId: number,
  payload: object,
): Promise<Delivery> {
  const body = JSON.stringify(payload);
  const signature = createHmac("sha256", store.cloud.options.githubWebhookSecret).update(body).digest("hex");
  const delivery: Delivery = {
    id: randomUUID(),
    event,
    action,
    installation_id: installationId,
    url: `${store.cloud.options.appUrl}/api/github/webhook`,
    status: null,
    error: null,
    delivered_at: isoNow(),
  };
  store.deliveries.push(delivery);
  try {
    const response = await fetch(delivery.url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/local",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery.id,
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-ID": store.cloud.options.githubAppId,
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-Hub-Signature-256": `sha256=${signature}`,
        "X-Hub-Signature": `sha1=${createHmac("sha1", store.cloud.options.githubWebhookSecret).update(body).digest("hex")}`,
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    delivery.status = response.status;
    await response.arrayBuffer().catch(() => undefined);
  } catch (error) {
    delivery.error = (error as Error).message;
    store.cloud.options.log(`github: webhook ${event}.${action} to ${delivery.url} failed: ${delivery.error}`);
  }
  return delivery;
}
