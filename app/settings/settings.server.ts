import { parseWithZod } from "@conform-to/zod/v4";
import { data, type AppLoadContext } from "@remix-run/cloudflare";
import { and, eq, inArray, isNotNull, or } from "drizzle-orm";
import { audit } from "../platform/audit.server";
import type { User } from "../auth/auth.server";
import { listCredentials, removeCredential, saveCredential } from "./credentials.server";
import { LIVE_STATUSES, workspaces } from "../db/schema";
import { hetzner } from "../providers/hetzner.server";
import { ProviderError } from "../providers/http.server";
import { listInstallations } from "../github/installations.server";
import { agentCredentialKinds, agentCredentialSchema, hetznerTokenSchema, removeCredentialSchema } from "./schema";
import { redirectWithToast } from "../platform/toast.server";

export async function loadSettings(context: AppLoadContext, user: User) {
  const [credentials, installations] = await Promise.all([
    listCredentials(context, user.id),
    listInstallations(context, user.id),
  ]);
  const visible = credentials.filter((credential) => credential.kind !== "github_user_token");
  return {
    credentials: visible.map(({ kind, last4, updatedAt }) => ({ kind, last4, updatedAt: updatedAt.toISOString() })),
    installations,
    installUrl: `${context.config.GITHUB_URL}/apps/${context.config.GITHUB_APP_SLUG}/installations/new`,
  };
}

/** What a person can do about a failed token check, in one sentence. Never includes the token. */
function hetznerTokenProblem(error: unknown): { message: string; status: number } {
  if (error instanceof ProviderError) {
    // Hetzner answers a read-only token's writes with 401 too: its code says which 401 it is.
    if (error.code === "token_readonly")
      return {
        status: 400,
        message:
          "This Hetzner token is read-only: SAM creates and deletes servers with it. Create a token with Read & Write access.",
      };
    if (error.status === 401)
      return {
        status: 400,
        message: "Hetzner rejected this token: check that it was copied whole and has not been deleted.",
      };
    if (error.status === 403)
      return { status: 400, message: "Hetzner refused this token: it needs Read & Write access to create servers." };
    if (error.status === 429)
      return { status: 503, message: "Hetzner is rate-limiting this token; nothing was saved. Try again in a minute." };
    if (error.status === 0 || error.status >= 500)
      return { status: 502, message: "Hetzner could not be reached; nothing was saved. Try again in a moment." };
  }
  return {
    status: 502,
    message: "Hetzner answered in a way SAM did not expect; nothing was saved. Try again in a moment.",
  };
}

/**
 * Servers are deleted with the token that made them; a different token (another project) would answer
 * "not found" and leave them billing. So the Hetzner token is fixed while any server may exist.
 */
async function hasCloudResources(context: AppLoadContext, userId: string): Promise<boolean> {
  const row = await context.db.query.workspaces.findFirst({
    columns: { id: true },
    where: and(
      eq(workspaces.userId, userId),
      or(
        inArray(workspaces.status, [...LIVE_STATUSES]),
        isNotNull(workspaces.serverId),
        isNotNull(workspaces.firewallId),
      ),
    ),
  });
  return Boolean(row);
}

const TOKEN_IN_USE =
  "Stop your workspaces first: their servers were made with the current Hetzner token, and SAM needs it to delete them.";

const credentialLabel = (kind: string) =>
  kind === "hetzner"
    ? "Hetzner Cloud token"
    : (agentCredentialKinds[kind as keyof typeof agentCredentialKinds]?.label ?? kind);

export async function settingsAction(request: Request, context: AppLoadContext, user: User) {
  const formData = await request.formData();
  const intent = formData.get("intent");

  if (intent === "save-hetzner") {
    const submission = parseWithZod(formData, { schema: hetznerTokenSchema });
    if (submission.status !== "success")
      return data({ form: "hetzner", result: submission.reply({ hideFields: ["token"] }) }, { status: 400 });
    const { token } = submission.value;
    if (await hasCloudResources(context, user.id)) {
      return data(
        { form: "hetzner", result: submission.reply({ formErrors: [TOKEN_IN_USE], hideFields: ["token"] }) },
        { status: 409 },
      );
    }
    try {
      const client = hetzner({ baseUrl: context.config.HETZNER_API_URL, token });
      await client.verifyToken();
      // A read-only token reads fine; it would only fail at the first create, long after it was saved.
      await client.verifyWriteAccess();
    } catch (error) {
      const problem = hetznerTokenProblem(error);
      return data(
        { form: "hetzner", result: submission.reply({ formErrors: [problem.message], hideFields: ["token"] }) },
        { status: problem.status },
      );
    }
    await saveCredential(context, user.id, "hetzner", token);
    await audit(context, request, {
      userId: user.id,
      action: "credential.saved",
      details: { kind: "hetzner", last4: token.slice(-4) },
    });
    return redirectWithToast(request, context, "/settings", {
      kind: "success",
      title: "Hetzner token saved",
      description: `Ending in ${token.slice(-4)}.`,
    });
  }

  if (intent === "save-agent") {
    const submission = parseWithZod(formData, { schema: agentCredentialSchema });
    if (submission.status !== "success")
      return data({ form: "agent", result: submission.reply({ hideFields: ["secret"] }) }, { status: 400 });
    const { kind, secret } = submission.value;
    await saveCredential(context, user.id, kind, secret);
    await audit(context, request, {
      userId: user.id,
      action: "credential.saved",
      details: { kind, last4: secret.slice(-4) },
    });
    return redirectWithToast(request, context, "/settings", {
      kind: "success",
      title: `${credentialLabel(kind)} saved`,
    });
  }

  if (intent === "remove") {
    const submission = parseWithZod(formData, { schema: removeCredentialSchema });
    if (submission.status !== "success") return data({ form: "remove", result: submission.reply() }, { status: 400 });
    const { kind } = submission.value;
    if (kind === "hetzner" && (await hasCloudResources(context, user.id))) {
      return redirectWithToast(request, context, "/settings", {
        kind: "error",
        title: "Hetzner token kept",
        description: TOKEN_IN_USE,
      });
    }
    if (await removeCredential(context, user.id, kind)) {
      await audit(context, request, { userId: user.id, action: "credential.removed", details: { kind } });
    }
    return redirectWithToast(request, context, "/settings", {
      kind: "info",
      title: `${credentialLabel(kind)} removed`,
    });
  }

  throw new Response("Unknown form", { status: 400 });
}
