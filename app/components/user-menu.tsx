import { Form, Link, NavLink } from "@remix-run/react";
import type { Theme } from "~/db/schema";
import { Avatar } from "./avatar";
import { ThemeToggle } from "./theme";

export interface MenuUser {
  login: string;
  name: string | null;
  avatarUrl: string | null;
  isAdmin: boolean;
  theme: Theme;
  unreadNotifications: number;
}

const linkClass = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800 ${isActive ? "text-zinc-900 dark:text-white" : ""}`;

export function UserMenu({ user, theme }: { user: MenuUser | null; theme: Theme }) {
  if (!user) {
    return (
      <Link to="/login" className="btn-secondary">
        Sign in with GitHub
      </Link>
    );
  }
  return (
    <div
      className="flex flex-wrap items-center justify-end gap-1 text-sm text-zinc-600 dark:text-zinc-400"
      data-testid="user-menu"
    >
      <NavLink to="/dashboard" className={linkClass}>
        Workspaces
      </NavLink>
      <NavLink to="/tasks" className={linkClass}>
        Tasks
      </NavLink>
      <NavLink to="/settings" className={linkClass}>
        Settings
      </NavLink>
      {user.isAdmin ? (
        <NavLink to="/admin" className={linkClass}>
          Admin
        </NavLink>
      ) : null}
      <NavLink
        to="/notifications"
        className={linkClass}
        aria-label={user.unreadNotifications ? `Notifications, ${user.unreadNotifications} unread` : "Notifications"}
        data-testid="notifications-link"
      >
        <span aria-hidden="true" className="relative inline-flex items-center">
          <svg viewBox="0 0 20 20" fill="currentColor" className="size-5">
            <path d="M10 2a6 6 0 0 0-6 6v2.59l-1.7 1.7A1 1 0 0 0 3 14h14a1 1 0 0 0 .7-1.71L16 10.59V8a6 6 0 0 0-6-6Zm0 16a2.5 2.5 0 0 1-2.45-2h4.9A2.5 2.5 0 0 1 10 18Z" />
          </svg>
          {user.unreadNotifications ? (
            <span className="absolute -top-1.5 -right-2 min-w-4 rounded-full bg-indigo-600 px-1 text-center text-[10px] leading-4 font-semibold text-white">
              {user.unreadNotifications > 99 ? "99+" : user.unreadNotifications}
            </span>
          ) : null}
        </span>
      </NavLink>
      <ThemeToggle theme={theme} />
      <span className="ml-1 flex items-center gap-2" title={user.name ?? user.login}>
        <Avatar src={user.avatarUrl} name={user.name ?? user.login} />
        <span className="sr-only font-medium text-zinc-900 sm:not-sr-only dark:text-zinc-100">{user.login}</span>
      </span>
      <Form method="post" action="/logout">
        <button type="submit" className="btn-secondary ml-1">
          Sign out
        </button>
      </Form>
    </div>
  );
}

/** The site's header: the name, and the signed-in user's menu or a way to sign in. */
export function SiteHeader({ user, theme }: { user: MenuUser | null; theme: Theme }) {
  return (
    <header className="border-b border-zinc-200 bg-white/80 backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/80">
      <nav
        className="mx-auto flex min-h-14 max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-2"
        aria-label="Main"
      >
        <Link to="/" className="flex items-center gap-2 font-semibold tracking-tight">
          <span
            aria-hidden
            className="grid h-7 w-7 place-items-center rounded-md bg-indigo-600 font-mono text-xs text-white"
          >
            &gt;_
          </span>
          <span className="sr-only sm:not-sr-only">Simple Agent Manager</span>
        </Link>
        <UserMenu user={user} theme={theme} />
      </nav>
    </header>
  );
}
