import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { z } from "zod";
import { requireUser } from "~/auth/auth.server";
import { ProviderError } from "~/providers/http.server";
import { confirmInstallation } from "~/github/installations.server";
import { redirectWithToast } from "~/platform/toast.server";
import { methodNotAllowed } from "~/platform/responses.server";

const querySchema = z.object({
  installation_id: z
    .string()
    .regex(/^\d{1,18}$/)
    .transform(Number),
});

/** The GitHub App's Setup URL: GitHub sends the browser here after an installation. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireUser(request, context);
  const url = new URL(request.url);
  const query = querySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success)
    throw new Response("This link is missing a valid installation_id; install the App again from Settings.", {
      status: 400,
    });

  let result;
  try {
    result = await confirmInstallation(request, context, user, query.data.installation_id);
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return redirectWithToast(request, context, "/settings", {
      kind: "error",
      title: "GitHub could not confirm the installation",
      description:
        error.status === 0 || error.status >= 500
          ? "GitHub could not be reached. Reload this page to try again."
          : error.message,
    });
  }
  if (result.kind === "reauthenticate") {
    throw redirect(`/auth/github?${new URLSearchParams({ redirectTo: `${url.pathname}${url.search}` })}`);
  }
  if (result.kind === "not-visible") {
    return redirectWithToast(request, context, "/settings", {
      kind: "error",
      title: "Installation not recorded",
      description:
        "GitHub does not list this installation for your account. Install the App from this page while signed in as yourself.",
    });
  }
  return redirectWithToast(request, context, "/settings", {
    kind: "success",
    title: "GitHub App installed",
    description: `${result.accountLogin}: ${result.repositoryCount} ${result.repositoryCount === 1 ? "repository" : "repositories"}.`,
  });
}

export const action = () => methodNotAllowed("GET");
