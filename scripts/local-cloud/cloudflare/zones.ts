// The one zone (the base domain): listing and reading it; its DNS records are routed on to dns.ts.
import type { Request } from "../context";
import { type Answer, authError, can, HEX32, noRoute, noUri, type Only, paginate } from "./api";
import { dnsRecordsRoute } from "./dns";
import type { ApiToken, CloudflareStore } from "./store";

export function zoneJson(store: CloudflareStore) {
  return {
    id: store.zoneId,
    name: store.zoneName,
    status: "active",
    paused: false,
    type: "full",
    development_mode: 0,
    name_servers: ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    created_on: store.zoneCreated,
    modified_on: store.zoneCreated,
    activated_on: store.zoneCreated,
    meta: { step: 4, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
    owner: {
      id: "00000000000000000000000000001001",
      type: "user",
      email: `${store.cloud.options.githubLogin}@example.test`,
    },
    account: { id: store.accountId, name: "Local Cloud" },
    tenant: { id: null, name: null },
    tenant_unit: { id: null },
    permissions: ["#dns_records:edit", "#dns_records:read", "#zone:read"],
    plan: {
      id: "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
      name: "Free Website",
      price: 0,
      currency: "USD",
      frequency: "",
      is_subscribed: false,
      can_subscribe: false,
      legacy_id: "free",
      legacy_discount: false,
      externally_managed: false,
    },
  };
}

function zoneScoped(token: ApiToken): boolean {
  return can(token, "zone:read", "dns_records:read", "dns_records:edit", "ssl_and_certificates:edit");
}

/** /zones and below; a token with no zone permission sees no zone at all. */
export async function zonesRoute(
  store: CloudflareStore,
  r: Request,
  parts: string[],
  token: ApiToken,
  only: Only,
): Promise<Answer> {
  if (parts.length === 1) {
    only("GET");
    const name = r.url.searchParams.get("name");
    const visible = zoneScoped(token) ? [zoneJson(store)] : [];
    const accountId = r.url.searchParams.get("account.id");
    const matching = visible.filter(
      (z) => (!name || z.name === name.toLowerCase()) && (!accountId || z.account.id === accountId),
    );
    return paginate(r, matching, { perPage: 20, min: 5, max: 50 });
  }
  const zoneId = parts[1]!;
  if (!HEX32.test(zoneId)) throw noRoute(`/zones/${zoneId}`);
  if (zoneId !== store.zoneId || !zoneScoped(token)) throw authError();
  if (parts.length === 2) {
    only("GET");
    return { result: zoneJson(store) };
  }
  if (parts[2] !== "dns_records") throw noUri();
  return dnsRecordsRoute(store, r, parts, token, only);
}
