import { Link, useSearchParams } from "@remix-run/react";

/**
 * "First page" and "Next page" links for a cursor-paged list, keeping the rest of the URL (its filters, and
 * other lists' places on a page with several). Nothing when the list fits on one page.
 */
export function Pager({
  param = "cursor",
  nextCursor,
  label = "Pages",
  preventScrollReset = false,
}: {
  /** The URL parameter holding this list's cursor. */
  param?: string;
  nextCursor: string | null;
  label?: string;
  /** On a page with several lists, stay at the list paged rather than jump to the top. */
  preventScrollReset?: boolean;
}) {
  const [searchParams] = useSearchParams();
  const paged = searchParams.has(param);
  if (!paged && !nextCursor) return null;
  const pageLink = (cursor: string | null) => {
    const params = new URLSearchParams(searchParams);
    if (cursor) params.set(param, cursor);
    else params.delete(param);
    return `?${params}`;
  };
  return (
    <nav className="flex items-center justify-between gap-3" aria-label={label}>
      {paged ? (
        <Link to={pageLink(null)} className="btn-secondary" preventScrollReset={preventScrollReset}>
          First page
        </Link>
      ) : (
        <span />
      )}
      {nextCursor ? (
        <Link to={pageLink(nextCursor)} className="btn-secondary" rel="next" preventScrollReset={preventScrollReset}>
          Next page
        </Link>
      ) : null}
    </nav>
  );
}
