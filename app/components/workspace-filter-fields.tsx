import { workspaceStatusChoices } from "~/workspaces/schema";

const fieldClass =
  "mt-1 block rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950";

/**
 * The search box and status choice of a workspace list (the dashboard's own, the admin's all-workspaces),
 * read from and kept in the URL under the names the list's loader reads.
 */
export function WorkspaceFilterFields({
  idPrefix,
  searchName,
  statusName,
  placeholder,
  searchParams,
}: {
  idPrefix: string;
  searchName: string;
  statusName: string;
  placeholder: string;
  searchParams: URLSearchParams;
}) {
  return (
    <>
      <div className="min-w-0 flex-1 basis-56">
        <label htmlFor={`${idPrefix}-search`} className="block text-sm font-medium">
          Search
        </label>
        <input
          id={`${idPrefix}-search`}
          name={searchName}
          type="search"
          defaultValue={searchParams.get(searchName) ?? ""}
          placeholder={placeholder}
          maxLength={100}
          className={`${fieldClass} w-full`}
        />
      </div>
      <div>
        <label htmlFor={`${idPrefix}-status`} className="block text-sm font-medium">
          Status
        </label>
        <select
          id={`${idPrefix}-status`}
          name={statusName}
          defaultValue={searchParams.get(statusName) ?? ""}
          className={fieldClass}
        >
          <option value="">Any status</option>
          {workspaceStatusChoices.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
    </>
  );
}
