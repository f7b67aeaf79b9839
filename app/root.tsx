import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { data, Link, Links, Meta, Outlet, Scripts, ScrollRestoration, useRouteLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
import { GeneralErrorBoundary } from "./components/error-boundary";
import { Toaster } from "./components/toaster";
import { UserMenu } from "./components/user-menu";
import { getOptionalUser } from "./auth/auth.server";
import { isAdmin } from "./admin/policy.server";
import stylesheet from "./styles.css?url";
import { takeToast } from "./platform/toast.server";
import { useNonce } from "./platform/nonce";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export const meta: MetaFunction = () => [
  { title: "Simple Agent Manager" },
  { name: "description", content: "Cloud workspaces for AI coding agents, on your own Hetzner account." },
];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const [{ toast, headers }, user] = await Promise.all([
    takeToast(request, context),
    getOptionalUser(request, context),
  ]);
  const menuUser = user
    ? { login: user.login, name: user.name, avatarUrl: user.avatarUrl, isAdmin: await isAdmin(context, user) }
    : null;
  return data({ toast, version: context.config.VERSION, user: menuUser }, { headers });
}

export function Layout({ children }: { children: ReactNode }) {
  const root = useRouteLoaderData<typeof loader>("root");
  const nonce = useNonce();
  return (
    <html lang="en" className="h-full">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <Meta />
        <Links />
      </head>
      <body className="flex min-h-full flex-col bg-zinc-50 font-sans text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">
        <header className="border-b border-zinc-200 bg-white/80 backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/80">
          <nav className="mx-auto flex h-14 max-w-6xl items-center justify-between px-4" aria-label="Main">
            <Link to="/" className="flex items-center gap-2 font-semibold tracking-tight">
              <span
                aria-hidden
                className="grid h-7 w-7 place-items-center rounded-md bg-indigo-600 font-mono text-xs text-white"
              >
                &gt;_
              </span>
              Simple Agent Manager
            </Link>
            <UserMenu user={root?.user ?? null} />
          </nav>
        </header>
        <main className="mx-auto w-full max-w-6xl flex-1 px-4 py-8">{children}</main>
        <footer className="py-6 text-center text-xs text-zinc-500">SAM {root?.version ?? ""}</footer>
        <Toaster toast={root?.toast ?? null} />
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
