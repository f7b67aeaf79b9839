import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Form, Link, useLoaderData, useLocation, useSearchParams } from "@remix-run/react";
import xtermStyles from "@xterm/xterm/css/xterm.css?url";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { TerminalView } from "~/components/terminal-view";
import { ConfirmAction } from "~/components/workspace-actions";
import { WorkspaceStatusBadge } from "~/components/workspace-status";
import { agentApi } from "~/terminal/agent-api";
import type { SessionInfo } from "~/terminal/protocol";
import { terminalAccess } from "~/workspaces/terminal.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: xtermStyles }];

// The terminal takes the whole window: the root layout leaves out the site's header and footer.
export const handle = { fullWindow: true };

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.workspace.name ?? "Terminal"} · Simple Agent Manager` },
];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return terminalAccess(request, context, params.id!);
}

/** Caches the page's token and fetches a fresh one shortly before it expires (or after a failed attach). */
function useTokenSource(workspaceId: string, initial: { token: string | null; expiresAt: number | null }) {
  const current = useRef(initial);
  return useCallback(async () => {
    const { token, expiresAt } = current.current;
    if (token && expiresAt && expiresAt - Date.now() > 60_000) return token;
    const response = await fetch(`/workspaces/${workspaceId}/terminal/token`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`token request failed with ${response.status}`);
    current.current = (await response.json()) as { token: string; expiresAt: number };
    return current.current.token!;
  }, [workspaceId]);
}

export default function TerminalPage() {
  const { workspace, agentUrl, token, expiresAt } = useLoaderData<typeof loader>();
  const getToken = useTokenSource(workspace.id, { token, expiresAt });
  const api = useMemo(() => agentApi(agentUrl, getToken), [agentUrl, getToken]);
  const [searchParams, setSearchParams] = useSearchParams();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const activeId = searchParams.get("session");

  const select = useCallback(
    (id: string) =>
      setSearchParams(
        (params) => {
          params.set("session", id);
          return params;
        },
        { replace: true, preventScrollReset: true },
      ),
    [setSearchParams],
  );

  const refresh = useCallback(async () => {
    const list = await api.list();
    setSessions(list);
    return list;
  }, [api]);

  useEffect(() => {
    if (workspace.status !== "running") return;
    let cancelled = false;
    (async () => {
      try {
        const list = await refresh();
        if (cancelled) return;
        if (activeId && list.some((session) => session.id === activeId)) return;
        const reusable = list.find((session) => !session.exited);
        if (reusable) return select(reusable.id);
        const created = await api.create({ name: "shell" });
        await refresh();
        if (!cancelled) select(created.id);
      } catch (error) {
        if (!cancelled)
          setProblem(
            `The workspace's agent could not be reached (${error instanceof Error ? error.message : "unknown error"}). It may still be starting; reload in a moment.`,
          );
      }
    })();
    return () => {
      cancelled = true;
    };
    // Only on first load: later session changes come from the tab actions, not from this effect.
  }, [workspace.status]);

  if (workspace.status !== "running") {
    return (
      <main className="card mx-auto mt-16 max-w-lg text-center">
        <h1 className="text-lg font-semibold">
          {workspace.name} is {workspace.status}
        </h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          The terminal opens once the workspace is running.
        </p>
        <Link to={`/workspaces/${workspace.id}`} className="btn-secondary mt-4">
          Back to the workspace
        </Link>
      </main>
    );
  }

  const activeSession = sessions?.find((session) => session.id === activeId);
  const newSession = async () => {
    const created = await api.create({ name: `shell ${(sessions?.length ?? 0) + 1}` });
    await refresh();
    select(created.id);
  };
  const closeSession = async (id: string) => {
    await api.close(id);
    const list = await refresh();
    const next = list.find((session) => !session.exited);
    if (next) select(next.id);
    else setSearchParams({}, { replace: true });
  };
  const renameSession = async (session: SessionInfo) => {
    const name = window.prompt("Rename this session", session.name)?.trim();
    if (!name || name === session.name) return;
    await api.rename(session.id, name.slice(0, 64));
    await refresh();
  };

  return (
    <div className="flex h-dvh flex-col">
      <TerminalBar workspace={workspace} />
      <div className="flex items-center gap-1 border-b border-zinc-200 bg-white px-2 dark:border-zinc-800 dark:bg-zinc-900">
        <div role="tablist" aria-label="Terminal sessions" className="flex min-w-0 items-center gap-1 overflow-x-auto">
          {(sessions ?? []).map((session) => (
            <button
              key={session.id}
              type="button"
              role="tab"
              aria-selected={session.id === activeId}
              onClick={() => select(session.id)}
              onDoubleClick={() => renameSession(session)}
              className={`shrink-0 border-b-2 px-3 py-1 text-sm ${session.id === activeId ? "border-indigo-600 text-zinc-900 dark:text-zinc-100" : "border-transparent text-zinc-600 dark:text-zinc-400"}`}
              title="Double-click to rename"
            >
              {session.name}
              {session.exited ? " (ended)" : ""}
            </button>
          ))}
        </div>
        {activeSession ? (
          <button
            type="button"
            onClick={() => closeSession(activeSession.id)}
            aria-label={`Close ${activeSession.name}`}
            title={`Close ${activeSession.name}`}
            className="px-2 py-1 text-sm text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100"
          >
            ×
          </button>
        ) : null}
        <button
          type="button"
          onClick={newSession}
          className="px-3 py-1 text-sm text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100"
          aria-label="New session"
        >
          +
        </button>
        <Link
          to={`/workspaces/${workspace.id}/chat/new`}
          className="ml-auto shrink-0 px-3 py-1 text-sm text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100"
        >
          New chat
        </Link>
      </div>
      <main className="flex min-h-0 flex-1 flex-col">
        <h1 className="sr-only">Terminal of {workspace.name}</h1>
        {problem ? (
          <p role="alert" className="m-4 text-sm text-red-600 dark:text-red-400">
            {problem}
          </p>
        ) : activeId ? (
          <TerminalView key={activeId} agentUrl={agentUrl} sessionId={activeId} getToken={getToken} />
        ) : null}
      </main>
    </div>
  );
}

/** Whether the page fills the screen; the Escape key (handled by the browser) also leaves full screen. */
function useFullScreen() {
  const [active, setActive] = useState(false);
  useEffect(() => {
    const update = () => setActive(Boolean(document.fullscreenElement));
    document.addEventListener("fullscreenchange", update);
    return () => document.removeEventListener("fullscreenchange", update);
  }, []);
  const toggle = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void document.documentElement.requestFullscreen().catch(() => {});
  };
  return { active, toggle };
}

/** The slim bar above the terminal: where you are, its state, and the workspace's actions in a menu. */
function TerminalBar({
  workspace,
}: {
  workspace: { id: string; name: string; status: string; repository: string | null; branch: string | null };
}) {
  const fullScreen = useFullScreen();
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  const here = `/workspaces/${workspace.id}`;
  return (
    <header className="relative flex flex-wrap items-center gap-x-3 gap-y-1 border-b border-zinc-200 bg-white px-3 py-1.5 text-sm dark:border-zinc-800 dark:bg-zinc-900">
      <Link to={here} className="font-semibold hover:underline" aria-label={`${workspace.name}: back to the workspace`}>
        <span aria-hidden className="mr-1 text-zinc-600 dark:text-zinc-400">
          ←
        </span>
        {workspace.name}
      </Link>
      <WorkspaceStatusBadge status={workspace.status} />
      {workspace.repository ? (
        <span className="hidden font-mono text-xs text-zinc-600 md:inline dark:text-zinc-400">
          {workspace.repository}@{workspace.branch}
        </span>
      ) : null}
      <div className="ml-auto flex items-center gap-1">
        <button
          type="button"
          className="btn-secondary px-2 py-1"
          aria-pressed={fullScreen.active}
          onClick={fullScreen.toggle}
        >
          {fullScreen.active ? "Exit full screen" : "Full screen"}
        </button>
        <button
          type="button"
          className="btn-secondary px-2 py-1"
          aria-expanded={menuOpen}
          aria-controls="workspace-menu"
          onClick={() => setMenuOpen((open) => !open)}
        >
          Workspace <span aria-hidden>▾</span>
        </button>
      </div>
      {menuOpen ? (
        <div
          id="workspace-menu"
          className="absolute top-full right-2 z-20 mt-1 flex w-72 max-w-[calc(100vw-1rem)] flex-col gap-2 rounded-md border border-zinc-200 bg-white p-3 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
          onKeyDown={(event) => {
            if (event.key === "Escape") setMenuOpen(false);
          }}
          // Each action ends in a navigation (back here with a toast, or to the workspace): the menu has done its job.
          onSubmit={() => setMenuOpen(false)}
        >
          <Form method="post" action={here}>
            <input type="hidden" name="intent" value="keep-alive" />
            <input type="hidden" name="returnTo" value={`${location.pathname}${location.search}`} />
            <button type="submit" className="btn-secondary w-full">
              Keep alive
            </button>
          </Form>
          <ConfirmAction
            intent="stop"
            label="Stop"
            question="Delete the server? Files on it are lost; the workspace can be restarted."
            confirmLabel="Yes, stop"
            action={here}
          />
          <Link to={here} className="btn-secondary">
            Back to the workspace
          </Link>
        </div>
      ) : null}
    </header>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="opening this workspace's terminal" />;
}
