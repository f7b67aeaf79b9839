// Origin CA certificates: sign a posted CSR for hostnames in the zone, list the live ones, read and revoke.
import type { Request } from "../context";
import { type Answer, authError, fail, noUri, type Only, paginate, readJson, requirePermission } from "./api";
import type { ApiToken, CloudflareStore, OriginCertificate } from "./store";

const VALIDITIES = [7, 30, 90, 365, 730, 1095, 5475];

function certificateJson(cert: OriginCertificate) {
  return {
    id: cert.id,
    certificate: cert.certificate,
    csr: cert.csr,
    hostnames: cert.hostnames,
    request_type: cert.request_type,
    requested_validity: cert.requested_validity,
    expires_on: cert.expires_on,
    ...(cert.revoked_at ? { revoked_at: cert.revoked_at } : {}),
  };
}

function inZone(store: CloudflareStore, hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\*\./, "");
  return host === store.zoneName || host.endsWith(`.${store.zoneName}`);
}

export async function certificatesRoute(
  store: CloudflareStore,
  r: Request,
  parts: string[],
  token: ApiToken,
  only: Only,
): Promise<Answer> {
  if (parts.length === 1 && r.method === "POST") {
    // Cloudflare reads the CSR before it looks at the token's permissions: an unparseable one is a 400 for
    // any token, so only a valid CSR can tell whether the permission is there (scripts/self-host/permissions.ts).
    const { csr } = await readJson(r);
    if (typeof csr !== "string" || !csr.includes("BEGIN CERTIFICATE REQUEST"))
      throw fail(400, 1001, "CSR is required and must be a PEM certificate request.");
    const parsed = store.ca.inspectCsr(csr);
    if ("error" in parsed) throw fail(400, 1001, parsed.error);
  }
  requirePermission(token, "ssl_and_certificates:edit");
  if (parts.length === 1) {
    only("GET", "POST");
    if (r.method === "GET") {
      const zoneId = r.url.searchParams.get("zone_id");
      if (!zoneId) throw fail(400, 1001, "zone_id is required");
      if (zoneId !== store.zoneId) throw authError();
      const live = [...store.certificates.values()].filter((c) => !c.revoked_at).map((c) => certificateJson(c));
      return paginate(r, live, { perPage: 50, min: 5, max: 1000 });
    }
    const body = await readJson(r);
    const { csr, hostnames, request_type } = body;
    const validity: unknown = body.requested_validity === undefined ? 5475 : body.requested_validity;
    if (typeof csr !== "string" || !csr.includes("BEGIN CERTIFICATE REQUEST"))
      throw fail(400, 1001, "CSR is required and must be a PEM certificate request.");
    if (!Array.isArray(hostnames) || hostnames.length === 0 || hostnames.some((h) => typeof h !== "string" || h === ""))
      throw fail(400, 1002, "hostnames must be a non-empty list of hostnames.");
    if (!["origin-rsa", "origin-ecc", "keyless-certificate"].includes(String(request_type)))
      throw fail(400, 1003, "request_type must be one of origin-rsa, origin-ecc, keyless-certificate.");
    if (typeof validity !== "number" || !VALIDITIES.includes(validity))
      throw fail(400, 1004, `requested_validity must be one of ${VALIDITIES.join(", ")}.`);
    for (const host of hostnames as string[]) {
      if (!inZone(store, host))
        throw fail(
          400,
          1010,
          `Failed to validate requested hostname ${host}: This zone is either not part of your account, or you do not have access to it. Please contact support if using a multi-user organization.`,
        );
    }
    const inspected = store.ca.inspectCsr(csr);
    if ("error" in inspected) throw fail(400, 1001, inspected.error);
    const wanted = request_type === "origin-ecc" ? "ec" : "rsa";
    if (request_type !== "keyless-certificate" && inspected.keyType !== wanted)
      throw fail(400, 1005, `The CSR key type does not match request_type ${String(request_type)}.`);
    const signed = store.ca.sign(csr, hostnames as string[], validity);
    const cert: OriginCertificate = {
      id: signed.serial,
      certificate: signed.certificate,
      csr,
      hostnames: hostnames as string[],
      request_type: String(request_type),
      requested_validity: validity as number,
      expires_on: signed.expiresOn.toISOString(),
      revoked_at: null,
    };
    store.certificates.set(cert.id, cert);
    return { result: certificateJson(cert) };
  }
  if (parts.length !== 2) throw noUri();
  only("GET", "DELETE");
  const cert = store.certificates.get(parts[1]!);
  if (!cert || (cert.revoked_at && r.method === "DELETE")) throw fail(404, 1006, "Certificate not found.");
  if (r.method === "GET") return { result: certificateJson(cert) };
  cert.revoked_at = new Date().toISOString();
  return { result: { id: cert.id, revoked_at: cert.revoked_at } };
}
