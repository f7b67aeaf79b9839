import { Form, Link, NavLink } from "@remix-run/react";

export interface MenuUser {
  login: string;
  name: string | null;
  avatarUrl: string | null;
  isAdmin: boolean;
}

const linkClass = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800 ${isActive ? "text-zinc-900 dark:text-white" : ""}`;

export function UserMenu({ user }: { user: MenuUser | null }) {
  if (!user) {
    return (
      <Link to="/login" className="btn-secondary">
        Sign in with GitHub
      </Link>
    );
  }
  return (
    <div className="flex items-center gap-1 text-sm text-zinc-600 dark:text-zinc-400" data-testid="user-menu">
      <NavLink to="/dashboard" className={linkClass}>
        Workspaces
      </NavLink>
      <NavLink to="/settings" className={linkClass}>
        Settings
      </NavLink>
      {user.isAdmin ? (
        <NavLink to="/admin" className={linkClass}>
          Admin
        </NavLink>
      ) : null}
      <span className="ml-2 flex items-center gap-2" title={user.name ?? user.login}>
        {user.avatarUrl ? <img src={user.avatarUrl} alt="" className="h-6 w-6 rounded-full" /> : null}
        <span className="font-medium text-zinc-900 dark:text-zinc-100">{user.login}</span>
      </span>
      <Form method="post" action="/logout">
        <button type="submit" className="btn-secondary ml-2">
          Sign out
        </button>
      </Form>
    </div>
  );
}
