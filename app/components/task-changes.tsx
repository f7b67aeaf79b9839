import { Fragment, useEffect, useState } from "react";
import {
  commentsPrompt,
  type LineComment,
  parsePatch,
  type PatchLine,
  type TaskChanges,
  taskChangesSchema,
} from "~/tasks/changes";

/**
 * The Changes tab: the task branch's diff against its base, file by file with +/− and the patch. While the
 * workspace runs it comes from the VM agent (`GET /api/changes`, with the chat's token); after it stops, from
 * GitHub's compare (the loader's `stored`). A click on a line opens a comment box; the comments go to the agent
 * as one prompt.
 */
export function TaskChangesView(props: {
  /** Set while the workspace runs: the agent answers the diff. */
  live: { agentUrl: string; getToken: () => Promise<string> } | null;
  stored: { changes: TaskChanges | null; message: string | null };
  /** Changes whenever the diff may have changed (a turn ended): the live diff is fetched again. */
  refreshKey: string;
  /** Sends one prompt to the agent; null when no chat is attached (the reason is shown). */
  send: ((text: string) => boolean) | null;
  sendUnavailable: string;
  onSent?: (count: number) => void;
}) {
  const { live, stored, refreshKey } = props;
  const [fetched, setFetched] = useState<{ changes: TaskChanges | null; message: string | null } | null>(null);
  const [comments, setComments] = useState<LineComment[]>([]);
  const [sentCount, setSentCount] = useState<number | null>(null);

  useEffect(() => {
    if (!live) return;
    let cancelled = false;
    (async () => {
      try {
        const response = await fetch(new URL("/api/changes", live.agentUrl), {
          headers: { Authorization: `Bearer ${await live.getToken()}` },
        });
        if (!response.ok) throw new Error(`the workspace answered ${response.status}`);
        const parsed = taskChangesSchema.safeParse(await response.json());
        if (!parsed.success) throw new Error("the workspace answered something SAM cannot read");
        if (!cancelled) setFetched({ changes: parsed.data, message: null });
      } catch (error) {
        if (!cancelled)
          setFetched({ changes: null, message: `Could not load the changes: ${(error as Error).message}.` });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [live, refreshKey]);

  const { changes, message } = live ? (fetched ?? { changes: null, message: "Loading the changes…" }) : stored;
  const sendAll = () => {
    if (!props.send || comments.length === 0) return;
    if (props.send(commentsPrompt(comments))) {
      setSentCount(comments.length);
      setComments([]);
      props.onSent?.(comments.length);
    }
  };

  return (
    <div className="space-y-4">
      {message ? <p className="text-sm text-zinc-700 dark:text-zinc-300">{message}</p> : null}
      {changes ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {changes.files.length === 0
            ? `No changes against ${changes.base} yet.`
            : `${changes.files.length} file${changes.files.length === 1 ? "" : "s"} changed on ${changes.branch} against ${changes.base}.`}
        </p>
      ) : null}
      {changes?.files.map((file) => (
        <FileDiff
          key={file.path}
          file={file}
          comments={comments.filter((comment) => comment.path === file.path)}
          onComment={(comment) => setComments((list) => [...list, comment])}
          onRemove={(comment) => setComments((list) => list.filter((other) => other !== comment))}
        />
      ))}
      {comments.length || sentCount ? (
        <div className="sticky bottom-0 flex flex-wrap items-center gap-3 border-t border-zinc-200 bg-white py-3 dark:border-zinc-800 dark:bg-zinc-900">
          {comments.length ? (
            <button type="button" className="btn-primary" onClick={sendAll} disabled={!props.send}>
              Send {comments.length} comment{comments.length === 1 ? "" : "s"} to the agent
            </button>
          ) : null}
          {!props.send && comments.length ? <p className="text-sm">{props.sendUnavailable}</p> : null}
          {sentCount && !comments.length ? (
            <p role="status" className="text-sm">
              Sent {sentCount} comment{sentCount === 1 ? "" : "s"} to the agent; the diff updates after its turn.
            </p>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function FileDiff({
  file,
  comments,
  onComment,
  onRemove,
}: {
  file: TaskChanges["files"][number];
  comments: LineComment[];
  onComment: (comment: LineComment) => void;
  onRemove: (comment: LineComment) => void;
}) {
  const [open, setOpen] = useState<number | null>(null);
  const [draft, setDraft] = useState("");
  const lines = parsePatch(file.patch);
  const target = (line: PatchLine) =>
    line.newLine !== null
      ? { line: line.newLine, side: "new" as const }
      : { line: line.oldLine!, side: "old" as const };
  return (
    <section className="card overflow-hidden p-0" aria-label={`Changes to ${file.path}`} data-testid="changed-file">
      <h3 className="flex flex-wrap items-center gap-3 border-b border-zinc-200 px-3 py-2 font-mono text-sm dark:border-zinc-800">
        <span data-testid="changed-file-path">{file.path}</span>
        <span className="text-xs text-zinc-500">{file.status}</span>
        <span className="ml-auto text-emerald-700 dark:text-emerald-400">+{file.additions}</span>
        <span className="text-red-700 dark:text-red-400">−{file.deletions}</span>
      </h3>
      {lines.length === 0 ? (
        <p className="px-3 py-2 text-sm text-zinc-600 dark:text-zinc-400">
          No text diff (a binary or very large file).
        </p>
      ) : (
        <table className="w-full border-collapse font-mono text-xs">
          <tbody>
            {lines.map((line, index) => {
              if (line.kind === "hunk")
                return (
                  <tr key={index} className="bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400">
                    <td colSpan={3} className="px-3 py-1">
                      {line.text}
                    </td>
                  </tr>
                );
              const where = target(line);
              const here = comments.filter((comment) => comment.line === where.line && comment.side === where.side);
              const tone =
                line.kind === "add"
                  ? "bg-emerald-50 dark:bg-emerald-950/40"
                  : line.kind === "remove"
                    ? "bg-red-50 dark:bg-red-950/40"
                    : "";
              return (
                <Fragment key={index}>
                  <tr className={tone}>
                    <td className="w-10 select-none px-2 text-right text-zinc-500">{line.oldLine ?? ""}</td>
                    <td className="w-10 select-none px-2 text-right text-zinc-500">{line.newLine ?? ""}</td>
                    <td className="whitespace-pre-wrap break-all px-2">
                      <button
                        type="button"
                        className="block w-full cursor-text text-left hover:bg-indigo-50 dark:hover:bg-indigo-950"
                        onClick={() => {
                          setOpen(index);
                          setDraft("");
                        }}
                      >
                        <span className="sr-only">
                          Comment on {file.path} line {where.line}
                          {where.side === "old" ? " (removed)" : ""}:{" "}
                        </span>
                        {line.kind === "add" ? "+" : line.kind === "remove" ? "-" : " "}
                        {line.text}
                      </button>
                    </td>
                  </tr>
                  {here.map((comment) => (
                    <tr key={`c-${comment.text}`}>
                      <td colSpan={3} className="bg-amber-50 px-3 py-2 font-sans text-sm dark:bg-amber-950/40">
                        <span className="font-medium">Your comment:</span> {comment.text}{" "}
                        <button type="button" className="underline" onClick={() => onRemove(comment)}>
                          Remove
                        </button>
                      </td>
                    </tr>
                  ))}
                  {open === index ? (
                    <tr>
                      <td colSpan={3} className="px-3 py-2 font-sans">
                        <form
                          onSubmit={(event) => {
                            event.preventDefault();
                            if (!draft.trim()) return;
                            onComment({ path: file.path, ...where, text: draft.trim() });
                            setOpen(null);
                          }}
                          className="space-y-2"
                        >
                          <label htmlFor={`comment-${file.path}-${index}`} className="block text-sm font-medium">
                            Comment on line {where.line}
                          </label>
                          <textarea
                            id={`comment-${file.path}-${index}`}
                            value={draft}
                            onChange={(event) => setDraft(event.target.value)}
                            rows={2}
                            autoFocus
                            className="block w-full rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-950"
                          />
                          <div className="flex gap-2">
                            <button type="submit" className="btn-primary" disabled={!draft.trim()}>
                              Add comment
                            </button>
                            <button type="button" className="btn-secondary" onClick={() => setOpen(null)}>
                              Cancel
                            </button>
                          </div>
                        </form>
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
