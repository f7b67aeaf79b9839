import { useEffect, useReducer, useRef, useState } from "react";
import { ChatConnection, type ChatConnectionStatus } from "~/chat/connection.client";
import {
  applyEvents,
  type ChatEvent,
  emptyTranscript,
  MAX_PROMPT_CHARS,
  type Transcript,
  usageLine,
} from "~/chat/protocol";
import { PermissionPrompt, PlanView, TranscriptView } from "~/chat/transcript-view";

/**
 * The task's chat session, attached the way the workspace's chat page attaches (chat/connection.client.ts):
 * one connection per page, shared by the Chat tab and the Changes tab's "Send comments".
 */
export interface TaskChat {
  transcript: Transcript;
  status: { state: ChatConnectionStatus; detail?: string };
  refusal: string | null;
  /** Sends a prompt through the chat (queued until the connection is up); false when it is too long. */
  prompt: (text: string) => boolean;
  answer: (requestId: string, optionId: string) => void;
  cancel: () => void;
}

export function useTaskChat(options: {
  agentUrl: string | null;
  chatId: string | null;
  getToken: () => Promise<string>;
}): TaskChat | null {
  const { agentUrl, chatId, getToken } = options;
  const [transcript, addEvents] = useReducer(applyEvents, emptyTranscript);
  const [status, setStatus] = useState<TaskChat["status"]>({ state: "connecting" });
  const [refusal, setRefusal] = useState<string | null>(null);
  const connection = useRef<ChatConnection | null>(null);
  const shown = useRef(0);
  shown.current = transcript.lastSeq;

  useEffect(() => {
    if (!agentUrl || !chatId) return;
    const chat = new ChatConnection(
      {
        agentUrl,
        chatId,
        getToken,
        onStatus: (state, detail) => setStatus({ state, detail }),
        onEvents: (events: ChatEvent[]) => addEvents(events),
        onRefused: (message) => setRefusal(message),
      },
      shown.current,
    );
    connection.current = chat;
    chat.connect();
    return () => chat.dispose();
  }, [agentUrl, chatId, getToken]);

  if (!agentUrl || !chatId) return null;
  return {
    transcript,
    status,
    refusal,
    prompt: (text) => {
      if (text.length > MAX_PROMPT_CHARS) {
        setRefusal(`A message can be at most ${MAX_PROMPT_CHARS.toLocaleString("en-US")} characters.`);
        return false;
      }
      setRefusal(null);
      connection.current?.prompt(text);
      return true;
    },
    answer: (requestId, optionId) => connection.current?.answer(requestId, optionId),
    cancel: () => connection.current?.cancel(),
  };
}

const statusText: Record<ChatConnectionStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  gone: "Chat closed",
};

export function TaskChatView({ chat, agentLabel }: { chat: TaskChat; agentLabel: string }) {
  const [text, setText] = useState("");
  const { transcript } = chat;
  const send = (event: { preventDefault(): void }) => {
    event.preventDefault();
    const message = text.trim();
    if (!message || transcript.busy) return;
    if (chat.prompt(message)) setText("");
  };
  const usage = usageLine(transcript.usage);
  return (
    <div className="flex flex-col gap-3">
      {transcript.plan?.length ? <PlanView plan={transcript.plan} /> : null}
      <TranscriptView transcript={transcript} />
      {transcript.permissions.map((request) => (
        <PermissionPrompt
          key={request.requestId}
          request={request}
          call={request.toolCallId ? transcript.toolCalls[request.toolCallId] : undefined}
          onAnswer={(option) => chat.answer(request.requestId, option.optionId)}
        />
      ))}
      <form onSubmit={send} className="border-t border-zinc-200 pt-3 dark:border-zinc-800">
        <label htmlFor="task-chat-message" className="sr-only">
          Message
        </label>
        <textarea
          id="task-chat-message"
          value={text}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) send(event);
          }}
          rows={3}
          placeholder={`Message ${agentLabel} (Enter sends, Shift+Enter adds a line)`}
          aria-describedby="task-chat-state"
          className="block w-full resize-y rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950"
        />
        {chat.refusal ? (
          <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
            {chat.refusal}
          </p>
        ) : null}
        <div className="mt-2 flex flex-wrap items-center gap-2">
          <p id="task-chat-state" role="status" className="text-xs text-zinc-600 dark:text-zinc-400">
            {statusText[chat.status.state]}
            {chat.status.detail && chat.status.state !== "connected" ? ` (${chat.status.detail})` : ""}
            {transcript.busy ? " · the agent is working" : ""}
          </p>
          {usage ? <p className="text-xs text-zinc-600 dark:text-zinc-400">{usage}</p> : null}
          <div className="ml-auto flex gap-2">
            {transcript.busy ? (
              <button type="button" className="btn-secondary" onClick={chat.cancel}>
                Stop
              </button>
            ) : null}
            <button type="submit" className="btn-primary" disabled={transcript.busy || !text.trim()}>
              Send
            </button>
          </div>
        </div>
      </form>
    </div>
  );
}
