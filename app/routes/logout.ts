import type { ActionFunctionArgs } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { destroyUserSession } from "~/auth/auth.server";
import { endBrowserSession } from "~/workspaces/access.server";

export function loader() {
  return redirect("/");
}

export async function action({ request, context }: ActionFunctionArgs) {
  await endBrowserSession(request, context);
  return destroyUserSession(request, context);
}
