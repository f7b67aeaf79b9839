import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Link, useLoaderData, useSearchParams } from "@remix-run/react";
import xtermStyles from "@xterm/xterm/css/xterm.css?url";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { agentApi } from "~/terminal/agent-api";
import type { ConnectionStatus } from "~/terminal/connection.client";
import type { SessionInfo } from "~/terminal/protocol";
import { terminalAccess } from "~/workspaces/terminal.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: xtermStyles }];

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.workspace.name ?? "Terminal"} · Simple Agent Manager` },
];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return terminalAccess(request, context, params.id!);
}

const statusText: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  exited: "Session ended",
  gone: "Session closed",
};

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
      <div className="card mx-auto max-w-lg text-center">
        <h1 className="text-lg font-semibold">
          {workspace.name} is {workspace.status}
        </h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          The terminal opens once the workspace is running.
        </p>
        <Link to={`/workspaces/${workspace.id}`} className="btn-secondary mt-4">
          Back to the workspace
        </Link>
      </div>
    );
  }

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
    <div className="flex h-[calc(100vh-11rem)] min-h-96 flex-col">
      <div className="mb-2 flex items-center justify-between gap-4">
        <div className="flex items-baseline gap-3">
          <Link to={`/workspaces/${workspace.id}`} className="font-semibold hover:underline">
            {workspace.name}
          </Link>
          {workspace.repository ? (
            <span className="font-mono text-xs text-zinc-500">
              {workspace.repository}@{workspace.branch}
            </span>
          ) : null}
        </div>
      </div>
      <div
        role="tablist"
        aria-label="Terminal sessions"
        className="flex items-center gap-1 border-b border-zinc-200 dark:border-zinc-800"
      >
        {(sessions ?? []).map((session) => (
          <div
            key={session.id}
            className={`flex items-center rounded-t-md ${session.id === activeId ? "bg-zinc-900 text-zinc-100" : "text-zinc-500"}`}
          >
            <button
              type="button"
              role="tab"
              aria-selected={session.id === activeId}
              onClick={() => select(session.id)}
              onDoubleClick={() => renameSession(session)}
              className="px-3 py-1.5 text-sm"
              title="Double-click to rename"
            >
              {session.name}
              {session.exited ? " (ended)" : ""}
            </button>
            <button
              type="button"
              onClick={() => closeSession(session.id)}
              aria-label={`Close ${session.name}`}
              className="pr-2 text-xs opacity-60 hover:opacity-100"
            >
              ×
            </button>
          </div>
        ))}
        <button
          type="button"
          onClick={newSession}
          className="px-3 py-1.5 text-sm text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100"
          aria-label="New session"
        >
          +
        </button>
      </div>
      {problem ? (
        <p role="alert" className="mt-4 text-sm text-red-600">
          {problem}
        </p>
      ) : activeId ? (
        <TerminalView key={activeId} agentUrl={agentUrl} sessionId={activeId} getToken={getToken} />
      ) : null}
    </div>
  );
}

function TerminalView({
  agentUrl,
  sessionId,
  getToken,
}: {
  agentUrl: string;
  sessionId: string;
  getToken: () => Promise<string>;
}) {
  const container = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<{ state: ConnectionStatus; detail?: string }>({ state: "connecting" });

  useEffect(() => {
    let disposed = false;
    let cleanup = () => {};
    (async () => {
      const [{ Terminal }, { FitAddon }, { TerminalConnection }] = await Promise.all([
        import("@xterm/xterm"),
        import("@xterm/addon-fit"),
        import("~/terminal/connection.client"),
      ]);
      if (disposed || !container.current) return;
      const term = new Terminal({
        cursorBlink: true,
        fontFamily: 'ui-monospace, "SFMono-Regular", "JetBrains Mono", Menlo, monospace',
        fontSize: 14,
        scrollback: 10_000,
        theme: { background: "#09090b" },
      });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(container.current);
      fit.fit();
      const connection = new TerminalConnection(term, fit, {
        agentUrl,
        sessionId,
        getToken,
        onStatus: (state, detail) => setStatus({ state, detail }),
      });
      connection.connect();
      const observer = new ResizeObserver(() => fit.fit());
      observer.observe(container.current);
      term.focus();
      cleanup = () => {
        observer.disconnect();
        connection.dispose();
        term.dispose();
      };
    })();
    return () => {
      disposed = true;
      cleanup();
    };
  }, [agentUrl, sessionId, getToken]);

  return (
    <div className="relative mt-0 flex-1 overflow-hidden rounded-b-md bg-zinc-950 p-2">
      <div ref={container} className="h-full w-full" data-testid="terminal" />
      {status.state !== "connected" ? (
        <div role="status" className="absolute top-2 right-3 rounded bg-zinc-800/90 px-2 py-1 text-xs text-zinc-200">
          {statusText[status.state]}
          {status.detail && status.state !== "connecting" ? ` — ${status.detail}` : ""}
        </div>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="opening this workspace's terminal" />;
}
