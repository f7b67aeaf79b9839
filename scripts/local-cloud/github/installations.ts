// Installing the GitHub App: the browser page that installs it on the signed-in account (or changes its
// repositories), and the admin API's installations and installation events; each tells the app by webhook.
import type { Request } from "../context";
import { escapeHtml, htmlPage, isoNow, sendText } from "../http";
import type { GitHubApp } from "./app";
import { sessionUser } from "./oauth";
import type { Delivery, GitHubStore, Installation } from "./store";
import { deliverInstallationEvent, deliverRepositoriesEvent } from "./webhooks";

/** GET: the install page, offering all or selected repositories of the signed-in account. */
export function installPage(store: GitHubStore, r: Request): void {
  const user = sessionUser(store, r.req);
  const slug = store.cloud.options.githubAppSlug;
  const repos = store.repos.filter((repo) => repo.owner === user.login);
  const existing = [...store.installations.values()].find((i) => i.account === user.login);
  const state = r.url.searchParams.get("state");
  const checkboxes = repos
    .map((repo) => {
      const checked = existing?.selection === "selected" && existing.repoIds.includes(repo.id) ? " checked" : "";
      return `<label><input type="checkbox" name="repository_ids" value="${repo.id}"${checked}> ${escapeHtml(repo.owner)}/${escapeHtml(repo.name)}${repo.private ? " (private)" : ""}</label>`;
    })
    .join("\n");
  const selected = existing?.selection === "selected";
  const body = `<h1>Install ${escapeHtml(slug)}</h1>
<p>Install on your personal account <strong>${escapeHtml(user.login)}</strong>${existing ? " (already installed; submitting updates it)" : ""}.</p>
<form method="post">
${state !== null ? `<input type="hidden" name="state" value="${escapeHtml(state)}">` : ""}
<fieldset><legend>Repository access</legend>
<label><input type="radio" name="repository_selection" value="all"${selected ? "" : " checked"}> All repositories</label>
<label><input type="radio" name="repository_selection" value="selected"${selected ? " checked" : ""}> Only select repositories</label>
${checkboxes}
</fieldset>
<button type="submit">Install</button>
</form>`;
  sendText(r.res, 200, htmlPage(`Install ${slug}`, body), "text/html; charset=utf-8");
}

/** POST: installs on (or updates) the signed-in account, tells the app, and returns to its setup URL. */
export async function install(store: GitHubStore, r: Request): Promise<void> {
  const user = sessionUser(store, r.req);
  const form = new URLSearchParams((await r.body()).toString("utf8"));
  const selection = form.get("repository_selection") === "selected" ? "selected" : "all";
  const own = store.repos.filter((repo) => repo.owner === user.login).map((repo) => repo.id);
  const repoIds =
    selection === "selected"
      ? form
          .getAll("repository_ids")
          .map(Number)
          .filter((id) => own.includes(id))
      : [];
  if (selection === "selected" && repoIds.length === 0) {
    return sendText(
      r.res,
      422,
      htmlPage("Choose repositories", "<h1>Select at least one repository.</h1>"),
      "text/html; charset=utf-8",
    );
  }
  let installation = [...store.installations.values()].find((i) => i.account === user.login);
  let setupAction = "install";
  if (installation) {
    const before = store.installationRepos(installation);
    installation.selection = selection;
    installation.repoIds = repoIds;
    installation.updated_at = isoNow();
    const after = store.installationRepos(installation);
    const added = after.filter((repo) => !before.includes(repo));
    const removed = before.filter((repo) => !after.includes(repo));
    setupAction = "update";
    if (added.length || removed.length)
      await deliverRepositoriesEvent(
        store,
        installation,
        added.length ? "added" : "removed",
        added.length ? added : removed,
        added.length ? removed : [],
      );
  } else {
    installation = store.addInstallation(user.login, selection, repoIds);
    await deliverInstallationEvent(store, installation, "created");
  }
  const target = new URL(`${store.cloud.options.appUrl}/api/github/callback`);
  target.searchParams.set("installation_id", String(installation.id));
  target.searchParams.set("setup_action", setupAction);
  const state = form.get("state");
  if (state) target.searchParams.set("state", state);
  r.res.writeHead(302, { Location: target.toString() });
  r.res.end();
}

/** Admin: change an installation and tell the app, as GitHub would. */
export async function adminEvent(
  store: GitHubStore,
  app: GitHubApp,
  input: { event?: unknown; action?: unknown; installation_id?: unknown; repositories?: unknown; login?: unknown },
): Promise<Delivery> {
  const installation = store.installations.get(Number(input.installation_id));
  if (!installation) throw new Error(`installation ${String(input.installation_id)} not found`);
  if (input.event === "installation") {
    switch (input.action) {
      case "deleted": {
        store.installations.delete(installation.id);
        app.revokeTokens(installation.id);
        return deliverInstallationEvent(store, installation, "deleted");
      }
      case "suspend":
        installation.suspended_at = isoNow();
        installation.suspended_by = installation.account;
        return deliverInstallationEvent(store, installation, "suspend");
      case "unsuspend": {
        const delivery = deliverInstallationEvent(
          store,
          { ...installation, suspended_at: null, suspended_by: null },
          "unsuspend",
        );
        installation.suspended_at = null;
        installation.suspended_by = null;
        return delivery;
      }
      case "created":
      case "new_permissions_accepted":
        return deliverInstallationEvent(store, installation, input.action);
      default:
        throw new Error(
          "installation action must be one of created, deleted, suspend, unsuspend, new_permissions_accepted",
        );
    }
  }
  if (input.event === "installation_repositories") {
    if (input.action !== "added" && input.action !== "removed")
      throw new Error("installation_repositories action must be added or removed");
    const names = Array.isArray(input.repositories) ? (input.repositories as unknown[]).map(String) : [];
    const repos = names.map((name) => {
      const [owner = "", repoName = ""] = name.includes("/") ? name.split("/") : [installation.account, name];
      const repo = store.findRepo(owner, repoName);
      if (!repo || repo.owner !== installation.account)
        throw new Error(`repository ${name} is not in ${installation.account}'s account`);
      return repo;
    });
    if (repos.length === 0) throw new Error("repositories: name at least one repository");
    const current = store.installationRepos(installation).map((repo) => repo.id);
    installation.selection = "selected";
    installation.repoIds =
      input.action === "added"
        ? [...new Set([...current, ...repos.map((repo) => repo.id)])]
        : current.filter((id) => !repos.some((repo) => repo.id === id));
    installation.updated_at = isoNow();
    return deliverRepositoriesEvent(store, installation, input.action, repos);
  }
  throw new Error("event must be installation or installation_repositories");
}

/** Admin: create an installation directly (without the browser page); no webhook unless asked. */
export async function adminInstall(
  store: GitHubStore,
  input: { login?: unknown; repositories?: unknown; webhook?: unknown; permissions?: unknown },
): Promise<Installation> {
  const login = typeof input.login === "string" ? input.login : store.cloud.options.githubLogin;
  const user = store.users.get(login.toLowerCase());
  if (!user) throw new Error(`user ${login} not found`);
  if ([...store.installations.values()].some((i) => i.account === user.login))
    throw new Error(`${user.login} already has an installation`);
  const names = Array.isArray(input.repositories) ? (input.repositories as unknown[]).map(String) : null;
  const repoIds = names
    ? names
        .map((name) => store.findRepo(user.login, name.split("/").pop()!)?.id)
        .filter((id): id is number => id !== undefined)
    : [];
  const permissions = input.permissions as Record<string, unknown> | undefined;
  if (permissions !== undefined && !Object.values(permissions ?? { x: 0 }).every((v) => v === "read" || v === "write"))
    throw new Error('permissions must map names to "read" or "write", e.g. {"contents": "read", "metadata": "read"}');
  const installation = store.addInstallation(
    user.login,
    names ? "selected" : "all",
    repoIds,
    permissions as Record<string, string> | undefined,
  );
  if (input.webhook === true) await deliverInstallationEvent(store, installation, "created");
  return installation;
}
