import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { Link, useLoaderData, useNavigate } from "@remix-run/react";
import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { chatApi, NEW_CHAT, tokenSource } from "~/chat/agent-api";
import { chatAccess } from "~/chat/chat.server";
import { ChatConnection, type ChatConnectionStatus } from "~/chat/connection.client";
import {
  applyEvents,
  type ChatEvent,
  type ChatInfo,
  emptyTranscript,
  MAX_PROMPT_CHARS,
  usageLine,
} from "~/chat/protocol";
import { PermissionPrompt, PlanView, TranscriptView } from "~/chat/transcript-view";
import { GeneralErrorBoundary } from "~/components/error-boundary";
import { WorkspaceStatusBadge } from "~/components/workspace-status";

// The chat takes the whole window, as the terminal does: the root layout leaves out the site's header and footer.
export const handle = { fullWindow: true };

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `Chat · ${data?.workspace.name ?? "Workspace"} · Simple Agent Manager` },
];

/** The page shell; the conversation comes from the agent when the browser attaches (docs/agent-protocol.md). */
export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return chatAccess(request, context, params.id!, params.sessionId!);
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;

export default function ChatPage() {
  const data = useLoaderData<typeof loader>();
  const { workspace, chatId } = data;
  const getToken = useMemo(
    () => tokenSource(workspace.id, { token: data.token, expiresAt: data.expiresAt }),
    [workspace.id, data.token, data.expiresAt],
  );
  const api = useMemo(() => chatApi(data.agentUrl, getToken), [data.agentUrl, getToken]);
  const [chats, setChats] = useState<ChatInfo[]>([]);
  useEffect(() => {
    if (workspace.status === "running") api.list().then(setChats, () => {});
  }, [api, workspace.status, chatId]);

  return (
    <div className="flex h-dvh flex-col">
      <header className="flex flex-wrap items-center gap-x-3 gap-y-1 border-b border-zinc-200 bg-white px-3 py-1.5 text-sm dark:border-zinc-800 dark:bg-zinc-900">
        <Link to={`/workspaces/${workspace.id}`} className="font-semibold hover:underline">
          <span aria-hidden className="mr-1 text-zinc-500">
            ←
          </span>
          {workspace.name}
        </Link>
        <WorkspaceStatusBadge status={workspace.status} />
        <nav aria-label="Terminal and chats" className="flex min-w-0 items-center gap-1 overflow-x-auto">
          <Link
            to={`/workspaces/${workspace.id}/terminal`}
            className="px-2 py-1 text-zinc-700 hover:underline dark:text-zinc-300"
          >
            Terminal
          </Link>
          {chats.map((chat, index) => (
            <Link
              key={chat.id}
              to={`/workspaces/${workspace.id}/chat/${chat.id}`}
              aria-current={chat.id === chatId ? "page" : undefined}
              // Earlier conversations (kept on the workspace's volume) are named by their first prompt.
              title={
                chat.last_activity_at
                  ? `Last active ${new Date(chat.last_activity_at).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" })}`
                  : undefined
              }
              className={`max-w-48 shrink-0 truncate border-b-2 px-2 py-1 ${chat.id === chatId ? "border-indigo-600" : "border-transparent text-zinc-700 dark:text-zinc-300"}`}
            >
              {chat.title || `Chat ${index + 1}`}
            </Link>
          ))}
          <Link
            to={`/workspaces/${workspace.id}/chat/${NEW_CHAT}`}
            className="px-2 py-1 text-zinc-700 hover:underline dark:text-zinc-300"
          >
            New chat
          </Link>
        </nav>
      </header>
      <main className="flex min-h-0 flex-1 flex-col">
        <h1 className="sr-only">
          {data.agentLabel} chat in {workspace.name}
        </h1>
        {workspace.status !== "running" ? (
          <p className="m-4 text-sm">
            {workspace.name} is {workspace.status}: chats open once the workspace is running.
          </p>
        ) : chatId === NEW_CHAT ? (
          <NewChat data={data} api={api} />
        ) : (
          <ChatView key={chatId} data={data} getToken={getToken} />
        )}
      </main>
    </div>
  );
}

/** Starts a chat on the agent and moves to its address; nothing starts without a credential for the agent. */
function NewChat({ data, api }: { data: Data; api: ReturnType<typeof chatApi> }) {
  const navigate = useNavigate();
  const [problem, setProblem] = useState<string | null>(null);
  // Once per visit: a re-run effect (React's strict mode, a revalidation) must not start a second chat.
  const started = useRef(false);
  useEffect(() => {
    if (data.missingCredential || started.current) return;
    started.current = true;
    api.create(data.agent).then(
      (chat) => navigate(`/workspaces/${data.workspace.id}/chat/${chat.id}`, { replace: true }),
      (error: Error) => setProblem(error.message),
    );
  }, [api, data.agent, data.missingCredential, data.workspace.id, navigate]);
  const message = data.missingCredential ?? problem;
  if (!message) return <p className="m-4 text-sm">Starting a {data.agentLabel} chat…</p>;
  return (
    <div role="alert" className="card m-4 max-w-xl text-sm">
      <p>{message}</p>
      {data.missingCredential || /Settings/.test(message) ? (
        <Link to="/settings" className="btn-primary mt-3">
          Open Settings
        </Link>
      ) : null}
    </div>
  );
}

const statusText: Record<ChatConnectionStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  gone: "Chat closed",
};

function ChatView({ data, getToken }: { data: Data; getToken: () => Promise<string> }) {
  const [transcript, addEvents] = useReducer(applyEvents, emptyTranscript);
  const [status, setStatus] = useState<{ state: ChatConnectionStatus; detail?: string }>({ state: "connecting" });
  const [historyUntil, setHistoryUntil] = useState<number | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [text, setText] = useState("");
  const connection = useRef<ChatConnection | null>(null);
  const bottom = useRef<HTMLDivElement>(null);
  // A reattach after a fresh token (the loader revalidated) asks only for what this view has not shown.
  const shown = useRef(0);
  shown.current = transcript.lastSeq;

  useEffect(() => {
    const chat = new ChatConnection(
      {
        agentUrl: data.agentUrl,
        chatId: data.chatId,
        getToken,
        onStatus: (state, detail) => setStatus({ state, detail }),
        onHello: (info) => setHistoryUntil((until) => until ?? info.last_seq),
        onEvents: (events: ChatEvent[]) => addEvents(events),
        onRefused: (message) => setRefusal(message),
      },
      shown.current,
    );
    connection.current = chat;
    chat.connect();
    return () => chat.dispose();
  }, [data.agentUrl, data.chatId, getToken]);

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: "end" });
  }, [transcript.items, transcript.permissions]);

  const send = (event: { preventDefault(): void }) => {
    event.preventDefault();
    const message = text.trim();
    if (!message || transcript.busy) return;
    if (message.length > MAX_PROMPT_CHARS)
      return setRefusal(`A message can be at most ${MAX_PROMPT_CHARS.toLocaleString("en-US")} characters.`);
    setRefusal(null);
    connection.current?.prompt(message);
    setText("");
  };
  const loading = historyUntil !== null && transcript.lastSeq < historyUntil;
  const usage = usageLine(transcript.usage);

  return (
    <>
      <div className="min-h-0 flex-1 overflow-y-auto">
        <div className="mx-auto flex max-w-3xl flex-col gap-3 p-4">
          {transcript.plan?.length ? <PlanView plan={transcript.plan} /> : null}
          {loading ? <p className="text-sm text-zinc-600 dark:text-zinc-400">Loading the conversation…</p> : null}
          {transcript.items.length === 0 && !loading ? (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">
              Ask {data.agentLabel} to change something in {data.workspace.repository ?? "the workspace"}.
            </p>
          ) : null}
          <TranscriptView transcript={transcript} />
          {transcript.permissions.map((request) => (
            <PermissionPrompt
              key={request.requestId}
              request={request}
              call={request.toolCallId ? transcript.toolCalls[request.toolCallId] : undefined}
              onAnswer={(option) => connection.current?.answer(request.requestId, option.optionId)}
            />
          ))}
          <div ref={bottom} />
        </div>
      </div>
      <form onSubmit={send} className="border-t border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="mx-auto max-w-3xl">
          <label htmlFor="chat-message" className="sr-only">
            Message
          </label>
          <textarea
            id="chat-message"
            value={text}
            onChange={(event) => setText(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) send(event);
            }}
            rows={3}
            placeholder={`Message ${data.agentLabel} (Enter sends, Shift+Enter adds a line)`}
            aria-describedby="chat-state"
            className="block w-full resize-y rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950"
          />
          {refusal ? (
            <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
              {refusal}
            </p>
          ) : null}
          <div className="mt-2 flex flex-wrap items-center gap-2">
            <p id="chat-state" role="status" className="text-xs text-zinc-600 dark:text-zinc-400">
              {statusText[status.state]}
              {status.detail && status.state !== "connected" ? ` (${status.detail})` : ""}
              {transcript.busy ? " · the agent is working" : ""}
            </p>
            {usage ? (
              <p className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="chat-usage">
                {usage}
              </p>
            ) : null}
            <div className="ml-auto flex gap-2">
              {transcript.busy ? (
                <button type="button" className="btn-secondary" onClick={() => connection.current?.cancel()}>
                  Stop
                </button>
              ) : null}
              <button type="submit" className="btn-primary" disabled={transcript.busy || !text.trim()}>
                Send
              </button>
            </div>
          </div>
        </div>
      </form>
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary doing="opening this workspace's chat" />;
}
