// The Cloudflare API token's permissions: what setup needs, how to probe each without changing anything,
// and the name the dashboard shows for it (My Profile → API Tokens → Edit).
import type { CloudflareClient } from "../../app/providers/cloudflare.server";
import { ProviderError } from "../../app/providers/http.server";

export const PERMISSIONS = {
  d1: "Account · D1 · Edit",
  kv: "Account · Workers KV Storage · Edit",
  r2: "Account · Workers R2 Storage · Edit",
  pages: "Account · Cloudflare Pages · Edit",
  dns: "Zone · DNS · Edit",
  ssl: "Zone · SSL and Certificates · Edit",
} as const;

/** Used by wrangler (scheduler deploy and its secrets); the API has no side-effect-free probe for it. */
export const WORKERS_SCRIPTS_PERMISSION = "Account · Workers Scripts · Edit";

export type Capability = keyof typeof PERMISSIONS;

/** Cloudflare's "enable R2 through the Cloudflare Dashboard": the account has not turned R2 on, whatever the token. */
export const R2_NOT_ENABLED = "10042";

/** Cloudflare's answers for "this token may not do that": 403, code 10000 "Authentication error", 9109 "Unauthorized". */
export function isPermissionError(error: unknown): error is ProviderError {
  return (
    error instanceof ProviderError &&
    error.code !== R2_NOT_ENABLED &&
    (error.status === 403 || error.code === "10000" || error.code === "9109")
  );
}

/** R2 is a subscription turned on once per account in the dashboard; no token permission replaces that. */
export class R2NotEnabledError extends Error {
  constructor() {
    super(
      'R2 is not enabled on this Cloudflare account (Cloudflare: "Please enable R2 through the Cloudflare Dashboard"). Open R2 Object Storage in the dashboard and subscribe (the free tier is enough), then run setup again.',
    );
    this.name = "R2NotEnabledError";
  }
}

const isR2NotEnabled = (error: unknown) => error instanceof ProviderError && error.code === R2_NOT_ENABLED;

/**
 * A certificate request for a throwaway key (discarded when it was made): Cloudflare reads the CSR before it
 * checks the token's permissions, so only a parseable one makes the Origin CA probe a permission check. The
 * certificate's names come from the request's `hostnames`, not from this CSR.
 */
export const PROBE_CSR = `-----BEGIN CERTIFICATE REQUEST-----
MIHhMIGHAgEAMCUxIzAhBgNVBAMMGnNhbS1zZXR1cC1wZXJtaXNzaW9uLXByb2Jl
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEs62sZigXQk6S6QOH9k7MW0NBQPHN
V3b8v+jSe9Htqmbjjk40jHFvbcbCd7MZ1lhbREGuXSKtnrNRu16Q/mlwJ6AAMAoG
CCqGSM49BAMCA0kAMEYCIQDUcu9RXttZYc/UjWpMJpwlXBZDh8xOb86AePTa9JVy
nAIhANk+wxEFuombFDa4Lp6oqGoT77qzJ5L/Tmwi+AeC/Add
-----END CERTIFICATE REQUEST-----
`;

export class MissingPermissionError extends Error {
  constructor(readonly missing: string[]) {
    super(
      `The Cloudflare API token lacks ${missing.length === 1 ? "a permission" : `${missing.length} permissions`}:\n${missing.map((name) => `  - ${name}`).join("\n")}\n` +
        "Add them in the Cloudflare dashboard (My Profile → API Tokens → edit the token), then run setup again. docs/self-hosting.md lists every permission.",
    );
    this.name = "MissingPermissionError";
  }
}

/** Runs `work`; a permission error becomes MissingPermissionError naming the capability's permission. */
export async function withPermission<T>(capability: Capability, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isR2NotEnabled(error)) throw new R2NotEnabledError();
    if (isPermissionError(error)) throw new MissingPermissionError([PERMISSIONS[capability]]);
    throw error;
  }
}

/**
 * Probes every capability and throws one error naming all that are missing. Reads need the same
 * permission as writes for the account resources; the DNS write is probed with a record the API refuses as
 * invalid (400) after the permission check, so nothing is created; the Origin CA with a certificate revoked
 * at once.
 */
export async function probePermissions(
  cf: CloudflareClient,
  ids: { accountId: string; zoneId: string; appHost: string },
): Promise<void> {
  const probes: Record<Capability, () => Promise<unknown>> = {
    d1: () => cf.listD1Databases(ids.accountId),
    kv: () => cf.listKvNamespaces(ids.accountId),
    r2: () => cf.listR2Buckets(ids.accountId),
    pages: () => cf.listPagesProjects(ids.accountId),
    dns: async () => {
      await cf.listDnsRecords(ids.zoneId, { name: ids.appHost });
      await invalidWrite(() =>
        cf.createDnsRecord(ids.zoneId, {
          type: "CNAME",
          name: ids.appHost,
          content: "",
          proxied: true,
          comment: "sam setup permission probe",
        }),
      );
    },
    // No invalid Origin CA request is refused after the permission check, so the probe asks for a real
    // 7-day certificate for a key nobody has, and revokes it at once.
    ssl: async () => {
      const { id } = await cf.createOriginCertificate({
        csr: PROBE_CSR,
        hostnames: [ids.appHost],
        requestType: "origin-ecc",
        validityDays: 7,
      });
      await cf.revokeOriginCertificate(id);
    },
  };
  const results = await Promise.all(
    (Object.keys(probes) as Capability[]).map(async (capability) => {
      try {
        await probes[capability]();
        return null;
      } catch (error) {
        if (isPermissionError(error)) return PERMISSIONS[capability];
        if (isR2NotEnabled(error)) throw new R2NotEnabledError();
        throw error;
      }
    }),
  );
  const missing = results.filter((name): name is (typeof PERMISSIONS)[Capability] => name !== null);
  if (missing.length) throw new MissingPermissionError(missing);
}

/** A write the API must refuse as invalid: a 4xx other than a permission error means the permission is there. */
async function invalidWrite(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (error instanceof ProviderError && error.status >= 400 && error.status < 500 && !isPermissionError(error))
      return;
    throw error;
  }
  throw new Error(
    "Cloudflare accepted a deliberately invalid request during the permission check; please report this.",
  );
}
