import type { AppLoadContext } from "@remix-run/cloudflare";
import { and, eq } from "drizzle-orm";
import { readCredential } from "../settings/credentials.server";
import type { Config } from "../platform/config.server";
import { workspaces } from "../db/schema";
import { github } from "../providers/github.server";
import { hetzner } from "../providers/hetzner.server";
import { ProviderError } from "../providers/http.server";
import { listInstallations } from "../github/installations.server";
import { getPolicy, sizes, type Policy, type Size } from "../admin/policy.server";
import { explainError } from "./errors.server";
import type { WorkspaceForm, WorkspaceFormLimits } from "./schema";
import { countLiveWorkspaces, newWorkspaceId, recordEvent, type Workspace } from "./workspaces.server";

/** The create form: what a user may choose (their repositories, sizes with live prices, locations) and the create itself. */

// ---- the create form ----------------------------------------------------------------------------------

export interface RepositoryChoice {
  fullName: string;
  defaultBranch: string;
  installationId: number;
  private: boolean;
}

export interface SizeChoice {
  size: Size;
  label: string;
  serverType: string;
  cores: number;
  memory: number;
  disk: number;
  /** Gross hourly price (EUR) per location, as Hetzner's /server_types says. */
  hourly: Record<string, string>;
}

export type Missing = "hetzner-token" | "installation" | "github-sign-in";

function limitsOf(policy: Policy): WorkspaceFormLimits {
  return {
    sizes: policy.allowedSizes,
    locations: policy.allowedLocations,
    maxIdleMinutes: policy.maxIdleMinutes,
    maxLifetimeHours: policy.maxLifetimeHours,
  };
}

/** What the policy allows, for validating a submission with the form's schema. */
export async function formLimits(context: AppLoadContext) {
  return limitsOf(await getPolicy(context));
}

/** Everything the create form offers: what the policy allows, intersected with what Hetzner has today. */
export async function loadCreateForm(context: AppLoadContext, userId: string) {
  const policy = await getPolicy(context);
  const [hetznerToken, githubToken, installations] = await Promise.all([
    readCredential(context, userId, "hetzner"),
    readCredential(context, userId, "github_user_token"),
    listInstallations(context, userId),
  ]);
  const active = installations.filter((installation) => !installation.suspended);
  const missing: Missing[] = [];
  if (!hetznerToken) missing.push("hetzner-token");
  if (active.length === 0) missing.push("installation");
  else if (!githubToken) missing.push("github-sign-in");

  const limits = limitsOf(policy);
  const defaults = { idleTimeoutMinutes: policy.defaultIdleMinutes, maxLifetimeHours: policy.defaultLifetimeHours };
  const base = {
    limits,
    defaults,
    missing,
    repositories: [] as RepositoryChoice[],
    sizes: [] as SizeChoice[],
    locations: [] as Array<{ name: string; city: string; country: string }>,
    problem: null as string | null,
  };
  if (missing.length) return base;

  try {
    const [repositories, catalog] = await Promise.all([
      listRepositories(context, githubToken!, active),
      hetznerCatalog(context.config, hetznerToken!, policy),
    ]);
    return {
      ...base,
      repositories,
      ...catalog,
      limits: {
        ...limits,
        sizes: catalog.sizes.map((choice) => choice.size),
        locations: catalog.locations.map((location) => location.name),
      },
    };
  } catch (error) {
    if (githubSignInExpired(error)) return { ...base, missing: ["github-sign-in" as const] };
    return { ...base, problem: explainError(error, { serverType: "the chosen size", location: "that location" }) };
  }
}

/** GitHub refused the user's own token: it expired or was revoked, and only signing in again renews it. */
const githubSignInExpired = (error: unknown) =>
  error instanceof ProviderError && error.provider === "github" && error.status === 401;

async function listRepositories(
  context: AppLoadContext,
  githubToken: string,
  installations: Array<{ installationId: number }>,
): Promise<RepositoryChoice[]> {
  const client = github({ apiUrl: context.config.GITHUB_API_URL });
  const lists = await Promise.all(
    installations.map(async ({ installationId }) =>
      (
        await client.listUserInstallationRepositories(githubToken, installationId).catch((error: unknown) => {
          // An installation the user can no longer see (they left the organisation: no webhook tells us)
          // offers nothing, rather than hiding every other installation's repositories.
          if (error instanceof ProviderError && (error.status === 403 || error.status === 404)) return [];
          throw error;
        })
      )
        .filter((repository) => !repository.archived)
        .map((repository) => ({
          fullName: repository.full_name,
          defaultBranch: repository.default_branch ?? "main",
          installationId,
          private: repository.private,
        })),
    ),
  );
  const seen = new Map<string, RepositoryChoice>();
  for (const repository of lists.flat()) if (!seen.has(repository.fullName)) seen.set(repository.fullName, repository);
  return [...seen.values()].sort((a, b) => a.fullName.localeCompare(b.fullName));
}

async function hetznerCatalog(config: Config, token: string, policy: Policy) {
  const client = hetzner({ baseUrl: config.HETZNER_API_URL, token });
  const [types, locations] = await Promise.all([client.listServerTypes(), client.listLocations()]);
  const offeredLocations = locations.filter((location) => policy.allowedLocations.includes(location.name));
  const sizeChoices: SizeChoice[] = [];
  for (const size of policy.allowedSizes) {
    const { label, serverType } = sizes[size];
    const type = types.find((candidate) => candidate.name === serverType && !candidate.deprecated);
    if (!type) continue;
    const hourly: Record<string, string> = {};
    for (const price of type.prices) {
      const available = type.locations?.find((location) => location.name === price.location)?.available ?? true;
      if (available) hourly[price.location] = price.price_hourly.gross;
    }
    sizeChoices.push({ size, label, serverType, cores: type.cores, memory: type.memory, disk: type.disk, hourly });
  }
  return {
    sizes: sizeChoices,
    locations: offeredLocations.map((location) => ({
      name: location.name,
      city: location.city,
      country: location.country,
    })),
  };
}

/** Branch names of a repository the user's installations can see (for the branch picker). */
export async function listBranchNames(context: AppLoadContext, userId: string, fullName: string): Promise<string[]> {
  const token = await readCredential(context, userId, "github_user_token");
  const [owner, name] = fullName.split("/");
  if (!token || !owner || !name) return [];
  try {
    return (await github({ apiUrl: context.config.GITHUB_API_URL }).listBranches(token, owner, name)).map(
      (branch) => branch.name,
    );
  } catch {
    return [];
  }
}

export type CreateResult =
  | { kind: "created"; workspace: Workspace }
  | { kind: "invalid"; fieldErrors: Record<string, string[]>; formErrors: string[] };

/** Checks the submission against GitHub, Hetzner and the per-user limit, then inserts the row (`creating`). */
export async function createWorkspace(
  context: AppLoadContext,
  userId: string,
  form: WorkspaceForm,
): Promise<CreateResult> {
  const invalid = (fieldErrors: Record<string, string[]>, formErrors: string[] = []): CreateResult => ({
    kind: "invalid",
    fieldErrors,
    formErrors,
  });
  const policy = await getPolicy(context);
  const [hetznerToken, githubToken] = await Promise.all([
    readCredential(context, userId, "hetzner"),
    readCredential(context, userId, "github_user_token"),
  ]);
  if (!hetznerToken) return invalid({}, ["There is no Hetzner token saved: add it in Settings first."]);
  const signInAgain = "SAM cannot see your repositories any more: sign out and sign in again.";
  if (!githubToken) return invalid({}, [signInAgain]);
  if ((await countLiveWorkspaces(context.db, userId)) >= policy.maxWorkspacesPerUser) {
    return invalid({}, [
      `You already have ${policy.maxWorkspacesPerUser} live workspaces, the most this instance allows: stop or delete one first.`,
    ]);
  }

  const installations = (await listInstallations(context, userId)).filter((installation) => !installation.suspended);
  const serverType = sizes[form.size as Size].serverType;
  let repository: RepositoryChoice | undefined;
  let hourlyPrice: string | undefined;
  try {
    const [repositories, catalog] = await Promise.all([
      listRepositories(context, githubToken, installations),
      hetznerCatalog(context.config, hetznerToken, policy),
    ]);
    repository = repositories.find((candidate) => candidate.fullName.toLowerCase() === form.repository.toLowerCase());
    hourlyPrice = catalog.sizes.find((choice) => choice.size === form.size)?.hourly[form.location];
  } catch (error) {
    return invalid({}, [
      githubSignInExpired(error) ? signInAgain : explainError(error, { serverType, location: form.location }),
    ]);
  }
  if (!repository)
    return invalid({
      repository: [
        "The GitHub App cannot see this repository: pick one from the list, or add it to the installation in Settings.",
      ],
    });
  if (!hourlyPrice)
    return invalid({
      location: [`Hetzner does not offer ${serverType} in ${form.location} right now: pick another location.`],
    });
  let branch = repository.defaultBranch;
  if (form.branch) {
    const [owner, name] = repository.fullName.split("/") as [string, string];
    const branches = await github({ apiUrl: context.config.GITHUB_API_URL })
      .listBranches(githubToken, owner, name)
      .catch(() => null);
    if (branches && !branches.some((candidate) => candidate.name === form.branch)) {
      return invalid({ branch: [`${repository.fullName} has no branch "${form.branch}".`] });
    }
    branch = form.branch;
  }

  const [workspace] = await context.db
    .insert(workspaces)
    .values({
      id: newWorkspaceId(),
      userId,
      name: form.name,
      status: "creating",
      repository: repository.fullName,
      branch,
      installationId: repository.installationId,
      size: form.size,
      serverType,
      location: form.location,
      agentCli: form.agentCli,
      hourlyPrice,
      idleTimeoutSeconds: form.idleTimeoutMinutes * 60,
      maxLifetimeSeconds: form.maxLifetimeHours * 3600,
      startedAt: new Date(),
    })
    .returning();
  // Two creates racing past the count above: the later one steps back.
  if ((await countLiveWorkspaces(context.db, userId)) > policy.maxWorkspacesPerUser) {
    await context.db.delete(workspaces).where(and(eq(workspaces.id, workspace!.id), eq(workspaces.userId, userId)));
    return invalid({}, [
      `You already have ${policy.maxWorkspacesPerUser} live workspaces, the most this instance allows: stop or delete one first.`,
    ]);
  }
  await recordEvent(
    context.db,
    workspace!.id,
    "create",
    "ok",
    `Requested ${sizes[form.size as Size].label.toLowerCase()} (${serverType}) in ${form.location}`,
  );
  return { kind: "created", workspace: workspace! };
}
