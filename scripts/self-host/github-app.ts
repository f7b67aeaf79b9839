// The GitHub App a self-hoster registers (ADR 0002: one App signs people in and grants repository access).

export function githubAppUrls(appHost: string) {
  return {
    homepage: `https://${appHost}`,
    callback: `https://${appHost}/auth/github/callback`,
    setup: `https://${appHost}/api/github/callback`,
    webhook: `https://${appHost}/api/github/webhook`,
  };
}

/** The settings to enter at GitHub → Settings → Developer settings → GitHub Apps → New GitHub App. */
export function githubAppInstructions(appHost: string): string {
  const urls = githubAppUrls(appHost);
  return [
    "GitHub App (github.com → Settings → Developer settings → GitHub Apps → New GitHub App):",
    `  Homepage URL ............................. ${urls.homepage}`,
    `  Callback URL ............................. ${urls.callback}`,
    "  Expire user authorization tokens ......... on",
    "  Request user authorization (OAuth) during installation ... off",
    `  Setup URL ................................ ${urls.setup}`,
    "  Redirect on update ....................... on",
    "  Webhook: Active .......................... on",
    `  Webhook URL .............................. ${urls.webhook}`,
    "  Webhook secret ........................... GITHUB_WEBHOOK_SECRET from .sam/secrets.env",
    "  Repository permissions ................... Contents: Read and write, Pull requests: Read and write, Metadata: Read-only",
    "  Subscribe to events ...................... Installation, Installation repositories",
    '  (Installation events are always sent to GitHub Apps; "Installation repositories" may not be listed separately.)',
    "Then copy the App ID, the Client ID and the App's URL name (slug), generate a client secret and a private key,",
    "and run `npm run setup` again with them (GITHUB_APP_ID, GITHUB_CLIENT_ID, GITHUB_APP_SLUG, GITHUB_CLIENT_SECRET,",
    "GITHUB_APP_PRIVATE_KEY = the .pem file's path or contents).",
  ].join("\n");
}
