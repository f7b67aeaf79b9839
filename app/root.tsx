import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import {
  data,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useMatches,
  useRouteLoaderData,
} from "@remix-run/react";
import type { ReactNode } from "react";
import { GeneralErrorBoundary } from "./components/error-boundary";
import { Toaster } from "./components/toaster";
import { useTheme } from "./components/theme";
import { SiteHeader } from "./components/user-menu";
import { unreadCount } from "./notifications/notifications.server";
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
    ? {
        login: user.login,
        name: user.name,
        avatarUrl: user.avatarUrl,
        theme: user.theme,
        isAdmin: await isAdmin(context, user),
        unreadNotifications: await unreadCount(context, user.id),
      }
    : null;
  return data({ toast, version: context.config.VERSION, user: menuUser }, { headers });
}

export function Layout({ children }: { children: ReactNode }) {
  const root = useRouteLoaderData<typeof loader>("root");
  const nonce = useNonce();
  const theme = useTheme(root?.user?.theme ?? "system");
  // A page with `handle.fullWindow` (the terminal) draws its own slim bar instead of the site's header.
  const fullWindow = useMatches().some((match) => (match.handle as { fullWindow?: boolean } | undefined)?.fullWindow);
  return (
    <html lang="en" className="h-full" data-theme={theme}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content={theme === "system" ? "light dark" : theme} />
        <Meta />
        <Links />
      </head>
      <body className="flex min-h-full flex-col bg-zinc-50 font-sans text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">
        {fullWindow ? (
          children
        ) : (
          <>
            <SiteHeader user={root?.user ?? null} theme={theme} />
            <main className="mx-auto w-full max-w-6xl flex-1 px-4 py-8">{children}</main>
            <footer className="py-6 text-center text-xs text-zinc-600 dark:text-zinc-400">
              SAM {root?.version ?? ""}
            </footer>
          </>
        )}
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
