// Shared by the local cloud's tests: start a cloud in-process and validate answers against the official
// response schemas cut into contract/.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import type { LocalCloudOptions } from "./config";
import { startLocalCloud, type LocalCloud } from "./server";

const here = dirname(fileURLToPath(import.meta.url));

export const HETZNER_TOKEN = "test-hetzner-token";
export const CLOUDFLARE_TOKEN = "test-cloudflare-token";
export const ZONE_ID = "0000000000000000000000000000c10d";

let appKey: string | undefined;
export function appPrivateKey(): string {
  appKey ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return appKey;
}

export function testOptions(overrides: Partial<LocalCloudOptions> = {}): LocalCloudOptions {
  return {
    port: 0,
    dir: mkdtempSync(join(tmpdir(), "local-cloud-test-")),
    hetznerToken: HETZNER_TOKEN,
    githubLogin: "sam-dev",
    appUrl: "http://127.0.0.1:9",
    baseDomain: "sam.example.test",
    githubClientId: "Iv1.testclient",
    githubClientSecret: "test-client-secret",
    githubAppId: "1000001",
    githubAppSlug: "sam-local",
    githubAppPrivateKey: appPrivateKey(),
    githubWebhookSecret: "test-webhook-secret",
    cloudflareApiToken: CLOUDFLARE_TOKEN,
    cloudflareZoneId: ZONE_ID,
    bootDelayMs: 0,
    log: () => {},
    ...overrides,
  };
}

/** A cloud on a free port in a fresh temporary directory, which close() removes. */
export async function startTestCloud(overrides: Partial<LocalCloudOptions> = {}): Promise<LocalCloud> {
  const options = testOptions(overrides);
  const cloud = await startLocalCloud(options);
  const close = cloud.close;
  return {
    ...cloud,
    close: async () => {
      await close();
      rmSync(options.dir, { recursive: true, force: true });
    },
  };
}

type Provider = "hetzner" | "cloudflare" | "github";

const ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true, logger: false });
addFormats(ajv);
for (const format of ["int32", "int64", "float", "double", "byte", "binary", "password", "uri-template", "decimal"])
  ajv.addFormat(format, true);
const loaded = new Set<Provider>();

/** OpenAPI 3.0 `nullable` beside `allOf`/`anyOf`/`$ref` (no `type`) is not JSON Schema: spell it out. */
function nullableToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableToJsonSchema);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node))
    out[key] =
      key === "properties" && value && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, nullableToJsonSchema(v)]))
        : nullableToJsonSchema(value);
  if (out.nullable === true && out.type === undefined) {
    delete out.nullable;
    return { anyOf: [out, { type: "null" }] };
  }
  return out;
}

function load(provider: Provider): void {
  if (loaded.has(provider)) return;
  const doc = nullableToJsonSchema(
    JSON.parse(readFileSync(join(here, "contract", `${provider}.json`), "utf8")),
  ) as Record<string, unknown>;
  ajv.addSchema({ ...doc, $id: `${provider}.json` });
  loaded.add(provider);
}

/** Validates a body against contract/<provider>.json operations.<operation>.<status> (or webhooks.<name>). */
export function contractErrors(provider: Provider, pointer: string, body: unknown): string[] {
  load(provider);
  const ref = `${provider}.json#/${pointer.split(".").join("/")}`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
}

export async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    redirect: "manual",
  });
  const text = await response.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: response.status, headers: response.headers, text, json };
}
