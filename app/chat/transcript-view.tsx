import { Fragment, useMemo } from "react";
import { diffHunks, lineDiff } from "./diff";
import { type Block, type Inline, parseMarkdown } from "./markdown";
import {
  type DiffContent,
  type PermissionOption,
  type PermissionRequest,
  type PlanEntry,
  type ToolCall,
  type ToolStatus,
  type Transcript,
} from "./protocol";

function InlineView({ nodes }: { nodes: Inline[] }) {
  return nodes.map((node, index) => {
    switch (node.type) {
      case "text":
        return <Fragment key={index}>{node.text}</Fragment>;
      case "code":
        return (
          <code key={index} className="rounded bg-zinc-100 px-1 font-mono text-[0.9em] dark:bg-zinc-800">
            {node.text}
          </code>
        );
      case "strong":
        return (
          <strong key={index}>
            <InlineView nodes={node.children} />
          </strong>
        );
      case "em":
        return (
          <em key={index}>
            <InlineView nodes={node.children} />
          </em>
        );
      case "link":
        return (
          <a key={index} href={node.href} target="_blank" rel="noreferrer noopener" className="underline">
            <InlineView nodes={node.children} />
          </a>
        );
    }
  });
}

function BlockView({ block }: { block: Block }) {
  switch (block.type) {
    case "paragraph":
      return (
        <p className="whitespace-pre-wrap">
          <InlineView nodes={block.children} />
        </p>
      );
    case "heading":
      // Inside a message a heading is emphasis, not page structure: the page's own headings stay in order.
      return (
        <p className="font-semibold">
          <InlineView nodes={block.children} />
        </p>
      );
    case "code":
      return (
        <pre className="overflow-x-auto rounded-md bg-zinc-100 p-2 font-mono text-xs dark:bg-zinc-900">
          <code>{block.text}</code>
        </pre>
      );
    case "list": {
      const List = block.ordered ? "ol" : "ul";
      return (
        <List className={`${block.ordered ? "list-decimal" : "list-disc"} space-y-0.5 pl-5`}>
          {block.items.map((item, index) => (
            <li key={index}>
              <InlineView nodes={item} />
            </li>
          ))}
        </List>
      );
    }
    case "quote":
      return (
        <blockquote className="whitespace-pre-wrap border-l-2 border-zinc-300 pl-3 text-zinc-700 dark:border-zinc-600 dark:text-zinc-300">
          <InlineView nodes={block.children} />
        </blockquote>
      );
  }
}

export function Markdown({ text }: { text: string }) {
  const blocks = useMemo(() => parseMarkdown(text), [text]);
  return (
    <div className="space-y-2">
      {blocks.map((block, index) => (
        <BlockView key={index} block={block} />
      ))}
    </div>
  );
}

const statusLabel: Record<ToolStatus, string> = {
  pending: "Pending",
  in_progress: "Running",
  completed: "Done",
  failed: "Failed",
};
const statusStyle: Record<ToolStatus, string> = {
  pending: "bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
  in_progress: "bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-200",
  completed: "bg-green-100 text-green-900 dark:bg-green-900/40 dark:text-green-200",
  failed: "bg-red-100 text-red-900 dark:bg-red-900/40 dark:text-red-200",
};

export function DiffView({ diff }: { diff: DiffContent }) {
  const lines = useMemo(() => lineDiff(diff.oldText, diff.newText), [diff.oldText, diff.newText]);
  const added = lines.filter((line) => line.op === "add").length;
  const removed = lines.filter((line) => line.op === "remove").length;
  return (
    <figure className="mt-2 overflow-hidden rounded-md border border-zinc-200 dark:border-zinc-700" data-testid="diff">
      <figcaption className="flex justify-between gap-2 bg-zinc-50 px-2 py-1 font-mono text-xs dark:bg-zinc-900">
        <span className="truncate">{diff.path}</span>
        <span>
          <span className="text-green-800 dark:text-green-300">+{added}</span>{" "}
          <span className="text-red-800 dark:text-red-300">−{removed}</span>
        </span>
      </figcaption>
      <pre className="overflow-x-auto text-xs leading-5">
        {diffHunks(lines).map((line, index) =>
          line === null ? (
            <div key={index} className="px-2 text-zinc-500 dark:text-zinc-400">
              ⋯
            </div>
          ) : (
            <div
              key={index}
              data-op={line.op}
              className={`px-2 ${line.op === "add" ? "bg-green-50 text-green-900 dark:bg-green-950 dark:text-green-200" : line.op === "remove" ? "bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-200" : ""}`}
            >
              <span aria-hidden>{line.op === "add" ? "+ " : line.op === "remove" ? "- " : "  "}</span>
              <span className="sr-only">{line.op === "add" ? "added: " : line.op === "remove" ? "removed: " : ""}</span>
              {line.text}
            </div>
          ),
        )}
      </pre>
    </figure>
  );
}

export function ToolCard({ call }: { call: ToolCall }) {
  return (
    <article
      className="rounded-md border border-zinc-200 bg-white p-3 text-sm dark:border-zinc-700 dark:bg-zinc-900"
      aria-label={`Tool call: ${call.title}`}
      data-testid="tool-call"
      data-status={call.status}
    >
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-medium">{call.title}</span>
        <span className="rounded bg-zinc-100 px-1.5 font-mono text-xs text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
          {call.kind}
        </span>
        <span className={`ml-auto rounded px-1.5 text-xs ${statusStyle[call.status]}`}>{statusLabel[call.status]}</span>
      </div>
      {call.diffs.map((diff, index) => (
        <DiffView key={index} diff={diff} />
      ))}
      {call.output.length ? (
        <details className="mt-2" open={call.status === "failed"}>
          <summary className="cursor-pointer text-xs text-zinc-600 dark:text-zinc-400">Output</summary>
          <pre className="mt-1 max-h-64 overflow-auto whitespace-pre-wrap rounded bg-zinc-50 p-2 font-mono text-xs dark:bg-zinc-950">
            {call.output.join("\n")}
          </pre>
        </details>
      ) : null}
    </article>
  );
}

export function PlanView({ plan }: { plan: PlanEntry[] }) {
  const mark = (status: string) => (status === "completed" ? "✓" : status === "in_progress" ? "…" : "○");
  return (
    <section aria-labelledby="chat-plan" className="rounded-md border border-zinc-200 p-3 text-sm dark:border-zinc-700">
      <h2 id="chat-plan" className="font-medium">
        Plan
      </h2>
      <ol className="mt-1 space-y-0.5">
        {plan.map((entry, index) => (
          <li key={index} data-status={entry.status}>
            <span aria-hidden className="mr-1 inline-block w-4">
              {mark(entry.status)}
            </span>
            <span className={entry.status === "completed" ? "text-zinc-500 line-through dark:text-zinc-400" : ""}>
              {entry.content}
            </span>
            <span className="sr-only"> ({entry.status.replace("_", " ")})</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

const optionLabel: Record<string, string> = {
  allow_once: "Allow once",
  allow_always: "Always allow",
  reject_once: "Deny",
  reject_always: "Always deny",
};

export function PermissionPrompt({
  request,
  call,
  onAnswer,
}: {
  request: PermissionRequest;
  call: ToolCall | undefined;
  onAnswer: (option: PermissionOption) => void;
}) {
  const headingId = `permission-${request.requestId}`;
  return (
    <section
      role="group"
      aria-labelledby={headingId}
      className="rounded-md border-2 border-amber-400 bg-amber-50 p-3 text-sm dark:border-amber-600 dark:bg-amber-950"
    >
      <h2 id={headingId} className="font-medium">
        The agent asks: {request.title}
      </h2>
      {call?.diffs.map((diff, index) => (
        <DiffView key={index} diff={diff} />
      ))}
      <div className="mt-2 flex flex-wrap gap-2">
        {request.options.map((option) => (
          <button
            key={option.optionId}
            type="button"
            className={option.kind.startsWith("allow") ? "btn-primary" : "btn-secondary"}
            onClick={() => onAnswer(option)}
          >
            {optionLabel[option.kind] ?? option.name}
          </button>
        ))}
      </div>
    </section>
  );
}

export function TranscriptView({ transcript }: { transcript: Transcript }) {
  return (
    <ol className="space-y-3" aria-label="Conversation" data-last-seq={transcript.lastSeq}>
      {transcript.items.map((item) => {
        // Which events of the log the item shows: tests compare them across a reload and between tabs.
        const seqs = item.seqs.join(" ");
        switch (item.type) {
          case "user":
            return (
              <li
                key={item.key}
                data-seqs={seqs}
                className="ml-auto max-w-[85%] rounded-md bg-indigo-50 p-3 text-sm dark:bg-indigo-950"
              >
                <span className="sr-only">You: </span>
                <p className="whitespace-pre-wrap">{item.text}</p>
              </li>
            );
          case "agent":
            return (
              <li key={item.key} data-seqs={seqs} className="text-sm" data-testid="agent-message">
                <span className="sr-only">Agent: </span>
                <Markdown text={item.text} />
              </li>
            );
          case "thought":
            return (
              <li key={item.key} data-seqs={seqs} className="text-sm text-zinc-600 dark:text-zinc-400">
                <details>
                  <summary className="cursor-pointer">Thinking</summary>
                  <p className="mt-1 whitespace-pre-wrap">{item.text}</p>
                </details>
              </li>
            );
          case "tool": {
            const call = transcript.toolCalls[item.toolCallId];
            return call ? (
              <li key={item.key} data-seqs={seqs}>
                <ToolCard call={call} />
              </li>
            ) : null;
          }
          case "notice":
            return (
              <li
                key={item.key}
                data-seqs={seqs}
                className={`text-sm ${item.tone === "error" ? "text-red-700 dark:text-red-400" : "text-zinc-600 dark:text-zinc-400"}`}
              >
                {item.text}
              </li>
            );
        }
      })}
    </ol>
  );
}
