import type { MetaFunction } from "@remix-run/cloudflare";
import { Link } from "@remix-run/react";

export const meta: MetaFunction = () => [{ title: "This instance is private · Simple Agent Manager" }];

export default function Private() {
  return (
    <div className="mx-auto max-w-lg py-16 text-center">
      <h1 className="text-2xl font-semibold">This instance is private</h1>
      <p className="mt-3 text-zinc-600 dark:text-zinc-400">
        Your GitHub account is not on this instance's list of allowed users, so no account was created. Ask the person
        who runs it to add your GitHub login, or run your own: SAM is open source and self-hostable.
      </p>
      <Link to="/" className="btn-secondary mt-6">
        Back to the start page
      </Link>
    </div>
  );
}
