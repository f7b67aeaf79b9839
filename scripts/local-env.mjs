// The configuration `npm start` and `npm test` write to .dev.vars: every provider URL points at the
// local cloud (scripts/local-cloud/), and the GitHub App, OAuth App and Cloudflare values are the
// local cloud's own. None of these work against the real providers.
import { generateKeyPairSync, randomBytes } from "node:crypto";

export const LOCAL_HETZNER_TOKEN = "sam0local0hetzner0token".padEnd(64, "0");
export const LOCAL_GITHUB_LOGIN = "sam-dev";

/** Non-secret local values; ports differ between `npm start` and the end-to-end run so both can run at once. */
export function localDefaults({ appPort, cloudPort }) {
  const cloud = `http://127.0.0.1:${cloudPort}`;
  return {
    APP_URL: `http://localhost:${appPort}`,
    BASE_DOMAIN: "localhost",
    // The local cloud's edge routes ws-<id>.localhost:<port> to the workspace's agent, as Cloudflare's proxy does:
    // its port stands for Cloudflare's 8443 (production's https://ws-{id}.{BASE_DOMAIN}:8443), and it reaches
    // the agent over TLS on 8443 through the firewall; only the browser's side is plain http (docs/local-cloud.md).
    WORKSPACE_URL_TEMPLATE: `http://ws-{id}.localhost:${cloudPort}`,
    HETZNER_API_URL: `${cloud}/hetzner/v1`,
    CLOUDFLARE_API_URL: `${cloud}/cloudflare/client/v4`,
    GITHUB_URL: `${cloud}/github`,
    GITHUB_API_URL: `${cloud}/github-api`,
    GITHUB_CLIENT_ID: "Iv1.local0000000000",
    GITHUB_APP_ID: "1000001",
    GITHUB_APP_SLUG: "sam-local",
    CLOUDFLARE_ZONE_ID: "0000000000000000000000000000c10d",
    ADMIN_GITHUB_LOGINS: LOCAL_GITHUB_LOGIN,
    // The local cloud serves the pinned archives of app/workspaces/tools.ts from its cache: same bytes, so
    // the same SHA-256s.
    TOOLS_REGISTRY_URL: `${cloud}/npm-registry`,
  };
}

/** Secrets shared by the app and the local cloud; random per checkout. */
export function localSecrets() {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    // GitHub hands out PKCS#1 keys; the app accepts both, so the local one is PKCS#1 too.
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  return {
    GITHUB_CLIENT_SECRET: randomBytes(20).toString("hex"),
    GITHUB_APP_PRIVATE_KEY: privateKey,
    GITHUB_WEBHOOK_SECRET: randomBytes(24).toString("hex"),
    CLOUDFLARE_API_TOKEN: randomBytes(20).toString("hex"),
  };
}
