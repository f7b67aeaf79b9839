import type { ITheme, Terminal } from "@xterm/xterm";
import { useEffect, useRef, useState } from "react";
import type { ConnectionStatus } from "~/terminal/connection.client";
import { useDarkMode } from "./theme";

const statusText: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  exited: "Session ended",
  gone: "Session closed",
};

const darkTheme: ITheme = {
  background: "#09090b",
  foreground: "#e4e4e7",
  cursor: "#e4e4e7",
  selectionBackground: "#3f3f46",
};
const lightTheme: ITheme = {
  background: "#fafafa",
  foreground: "#18181b",
  cursor: "#18181b",
  cursorAccent: "#fafafa",
  selectionBackground: "#c7d2fe",
  // xterm's default ANSI colours are made for a dark background; these stay readable on a light one.
  black: "#18181b",
  red: "#b91c1c",
  green: "#15803d",
  yellow: "#a16207",
  blue: "#1d4ed8",
  magenta: "#a21caf",
  cyan: "#0e7490",
  white: "#52525b",
  brightBlack: "#52525b",
  brightWhite: "#18181b",
};

/**
 * Keys as in a desktop terminal: Ctrl+Shift+C copies the selection and Ctrl+Shift+V (or Shift+Insert) pastes;
 * they go to the browser instead of the shell. Plain Ctrl+C and Ctrl+V stay with the shell (interrupt, literal
 * next), and on a Mac Cmd+C / Cmd+V already reach the browser.
 */
function desktopKeys(term: Terminal) {
  term.attachCustomKeyEventHandler((event) => {
    if (event.type !== "keydown") return true;
    const key = event.key.toLowerCase();
    if (event.ctrlKey && event.shiftKey && key === "c") {
      const selection = term.getSelection();
      if (selection) void navigator.clipboard?.writeText(selection).catch(() => {});
      event.preventDefault();
      return false;
    }
    if ((event.ctrlKey && event.shiftKey && key === "v") || (event.shiftKey && key === "insert")) return false;
    return true;
  });
  // Copy on select, as X terminals do; a failed write (no permission) leaves Ctrl+Shift+C to try again.
  return term.onSelectionChange(() => {
    const selection = term.getSelection();
    if (selection) void navigator.clipboard?.writeText(selection).catch(() => {});
  });
}

/** One session's terminal, filling its parent; refits (and tells the agent the new size) whenever it resizes. */
export function TerminalView({
  agentUrl,
  sessionId,
  getToken,
}: {
  agentUrl: string;
  sessionId: string;
  getToken: () => Promise<string>;
}) {
  const container = useRef<HTMLDivElement>(null);
  const terminal = useRef<Terminal | null>(null);
  const dark = useDarkMode();
  const darkRef = useRef(dark);
  darkRef.current = dark;
  const [status, setStatus] = useState<{ state: ConnectionStatus; detail?: string }>({ state: "connecting" });
  const [size, setSize] = useState<{ cols: number; rows: number } | null>(null);

  useEffect(() => {
    let disposed = false;
    let cleanup = () => {};
    (async () => {
      const [{ Terminal }, { FitAddon }, { WebLinksAddon }, { TerminalConnection }] = await Promise.all([
        import("@xterm/xterm"),
        import("@xterm/addon-fit"),
        import("@xterm/addon-web-links"),
        import("~/terminal/connection.client"),
      ]);
      if (disposed || !container.current) return;
      const term = new Terminal({
        cursorBlink: true,
        fontFamily: 'ui-monospace, "SFMono-Regular", "JetBrains Mono", Menlo, monospace',
        fontSize: 14,
        scrollback: 10_000,
        theme: darkRef.current ? darkTheme : lightTheme,
      });
      terminal.current = term;
      const fit = new FitAddon();
      term.loadAddon(fit);
      // A printed link opens in a new tab, without access back to this page.
      term.loadAddon(new WebLinksAddon((_event, uri) => window.open(uri, "_blank", "noopener,noreferrer")));
      term.open(container.current);
      const selection = desktopKeys(term);
      const resized = term.onResize(({ cols, rows }) => setSize({ cols, rows }));
      fit.fit();
      setSize({ cols: term.cols, rows: term.rows });
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
        selection.dispose();
        resized.dispose();
        connection.dispose();
        term.dispose();
        terminal.current = null;
      };
    })();
    return () => {
      disposed = true;
      cleanup();
    };
  }, [agentUrl, sessionId, getToken]);

  useEffect(() => {
    if (terminal.current) terminal.current.options.theme = dark ? darkTheme : lightTheme;
  }, [dark]);

  return (
    <div className="relative min-h-0 flex-1 overflow-hidden bg-zinc-50 p-1 dark:bg-zinc-950">
      <div
        ref={container}
        className="h-full w-full"
        data-testid="terminal"
        data-cols={size?.cols}
        data-rows={size?.rows}
        data-terminal-theme={dark ? "dark" : "light"}
      />
      {status.state !== "connected" ? (
        <div
          role="status"
          className="absolute top-2 right-3 rounded bg-zinc-800/90 px-2 py-1 text-xs text-zinc-100"
          data-testid="connection-status"
        >
          {statusText[status.state]}
          {status.detail && status.state !== "connecting" ? ` — ${status.detail}` : ""}
        </div>
      ) : null}
    </div>
  );
}
