import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { NavLink, Outlet } from "@remix-run/react";
import { requireUser } from "~/auth/auth.server";
import { GeneralErrorBoundary } from "~/components/error-boundary";

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  return null;
}

const tab = ({ isActive }: { isActive: boolean }) =>
  `border-b-2 px-1 pb-2 text-sm font-medium ${isActive ? "border-indigo-600 text-zinc-900 dark:text-white" : "border-transparent text-zinc-600 hover:text-zinc-800 dark:text-zinc-400 dark:hover:text-zinc-200"}`;

export default function SettingsLayout() {
  return (
    <div className="mx-auto max-w-3xl">
      <h1 className="text-2xl font-semibold">Settings</h1>
      <nav className="mt-4 mb-6 flex gap-6 border-b border-zinc-200 dark:border-zinc-800" aria-label="Settings">
        <NavLink to="/settings" end className={tab}>
          Credentials
        </NavLink>
        <NavLink to="/settings/environment" className={tab}>
          Environment
        </NavLink>
        <NavLink to="/settings/audit" className={tab}>
          Audit log
        </NavLink>
      </nav>
      <Outlet />
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="showing your settings" />;
}
