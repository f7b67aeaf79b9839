import { Link } from "@remix-run/react";

const steps = [
  { title: "Sign in with GitHub", body: "Pick the repositories SAM may clone by installing its GitHub App." },
  {
    title: "Add your Hetzner token",
    body: "Workspaces run in your own Hetzner Cloud project; the token is stored encrypted.",
  },
  {
    title: "Create a workspace",
    body: "A fresh VM clones your repository with Claude Code or Codex installed, ready in a browser terminal.",
  },
  { title: "Walk away", body: "Idle workspaces delete themselves, so nothing is billed while nobody works." },
];

export default function Index() {
  return (
    <div className="space-y-12">
      <section className="pt-8 text-center">
        <h1 className="text-4xl font-bold tracking-tight sm:text-5xl">
          AI coding agents in the cloud, on your account
        </h1>
        <p className="mx-auto mt-4 max-w-2xl text-lg text-zinc-600 dark:text-zinc-400">
          Simple Agent Manager gives each task its own short-lived VM with your repository and coding agents installed,
          reached through a terminal in your browser.
        </p>
        <div className="mt-8 flex justify-center gap-3">
          <Link to="/login" className="btn-primary px-5 py-2.5 text-base">
            Get started
          </Link>
          <a href="https://github.com/simple-agent-manager/sam" className="btn-secondary px-5 py-2.5 text-base">
            Self-host it
          </a>
        </div>
      </section>
      <ol className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        {steps.map((step, index) => (
          <li key={step.title} className="card">
            <p className="font-mono text-sm text-indigo-700 dark:text-indigo-400">
              {String(index + 1).padStart(2, "0")}
            </p>
            <h2 className="mt-2 font-semibold">{step.title}</h2>
            <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{step.body}</p>
          </li>
        ))}
      </ol>
    </div>
  );
}
