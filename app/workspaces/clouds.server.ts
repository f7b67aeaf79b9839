import { cloudflare } from "../providers/cloudflare.server";
import type { Config } from "../platform/config.server";
import { readCredential } from "../settings/credentials.server";
import { hetzner, type HetznerClient } from "../providers/hetzner.server";
import { workspaceIdOf } from "./url";
import type { Deps, Workspace } from "./workspaces.server";

/**
 * The clouds a workspace lives in: the user's Hetzner project and the instance's Cloudflare zone, the
 * labels that mark what SAM made there, and the ports and address ranges the firewall admits.
 */

export const MANAGED_BY = "sam";
const DNS_COMMENT = `managed-by=${MANAGED_BY}`;

/** The instance's Cloudflare zone: workspace hostnames' DNS records and their Origin CA certificates. */
export interface ZoneClient {
  createRecord(hostname: string, ipv4: string): Promise<string>;
  deleteRecord(id: string): Promise<void>;
  findRecords(hostname: string): Promise<string[]>;
  /** Every record this instance made (its comment and a `ws-<id>.<BASE_DOMAIN>` name), with the workspace it serves. */
  listManaged(): Promise<Array<{ id: string; workspaceId: string }>>;
  /** Signs the agent's CSR for its hostname (90 days, ECC). */
  issueCertificate(hostname: string, csr: string): Promise<{ id: string; certificate: string }>;
  revokeCertificate(id: string): Promise<void>;
}

export interface Clouds {
  hetzner: Pick<
    HetznerClient,
    | "createServer"
    | "deleteServer"
    | "getServer"
    | "listServers"
    | "shutdownServer"
    | "createFirewall"
    | "deleteFirewall"
    | "listFirewalls"
    // The SAM image a new workspace boots from, when the project has one (app/admin/image.server.ts).
    | "listImages"
    // The workspace's volume (repository, /home/sam, session logs), kept while it is stopped.
    | "createVolume"
    | "getVolume"
    | "listVolumes"
    | "detachVolume"
    | "deleteVolume"
    | "getPricing"
    | "waitForAction"
  >;
  zone: ZoneClient;
}

export function zoneClient(config: Config): ZoneClient {
  const client = cloudflare({ baseUrl: config.CLOUDFLARE_API_URL, token: config.CLOUDFLARE_API_TOKEN });
  const zone = config.CLOUDFLARE_ZONE_ID;
  return {
    createRecord: async (hostname, ipv4) =>
      (
        await client.createDnsRecord(zone, {
          type: "A",
          name: hostname,
          content: ipv4,
          proxied: true,
          comment: DNS_COMMENT,
        })
      ).id,
    deleteRecord: async (id) => {
      await client.deleteDnsRecord(zone, id);
    },
    findRecords: async (hostname) => (await client.listDnsRecords(zone, { name: hostname })).map((record) => record.id),
    listManaged: async () =>
      (await client.listDnsRecords(zone, { type: "A", comment: DNS_COMMENT })).flatMap((record) => {
        const workspaceId = workspaceIdOf(config, record.name);
        return workspaceId ? [{ id: record.id, workspaceId }] : [];
      }),
    issueCertificate: async (hostname, csr) => {
      const { id, certificate } = await client.createOriginCertificate({
        csr,
        hostnames: [hostname],
        requestType: "origin-ecc",
        validityDays: 90,
      });
      return { id, certificate };
    },
    revokeCertificate: (id) => client.revokeOriginCertificate(id),
  };
}

export function cloudsFor(config: Config, hetznerToken: string): Clouds {
  return { hetzner: hetzner({ baseUrl: config.HETZNER_API_URL, token: hetznerToken }), zone: zoneClient(config) };
}

/** Builds the clouds for a workspace's owner; null when they have no Hetzner token any more. */
export type CloudsFactory = (deps: Deps, userId: string) => Promise<Clouds | null>;

export const userClouds: CloudsFactory = async (deps, userId) => {
  const token = await readCredential(deps, userId, "hetzner");
  return token ? cloudsFor(deps.config, token) : null;
};

/**
 * Cloudflare's published ranges (https://www.cloudflare.com/ips-v4 and /ips-v6): the only sources the
 * agent's port is open to, since browsers reach it through Cloudflare's proxy.
 */
export const CLOUDFLARE_IP_RANGES = [
  "173.245.48.0/20",
  "103.21.244.0/22",
  "103.22.200.0/22",
  "103.31.4.0/22",
  "141.101.64.0/18",
  "108.162.192.0/18",
  "190.93.240.0/20",
  "188.114.96.0/20",
  "197.234.240.0/22",
  "198.41.128.0/17",
  "162.158.0.0/15",
  "104.16.0.0/13",
  "104.24.0.0/14",
  "172.64.0.0/13",
  "131.0.72.0/22",
  "2400:cb00::/32",
  "2606:4700::/32",
  "2803:f800::/32",
  "2405:b500::/32",
  "2405:8100::/32",
  "2a06:98c0::/29",
  "2c0f:f248::/32",
];

export { AGENT_PORT } from "./url";

/**
 * Which SAM instance made a resource (its app host, as a Hetzner label value), so two instances sharing a
 * Hetzner project never reap each other's servers as orphans.
 */
export function instanceLabel(config: Pick<Config, "APP_URL">): string {
  return new URL(config.APP_URL).host.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
}

/** The label selector for everything this instance made. */
export function ownedSelector(config: Pick<Config, "APP_URL">): string {
  return `managed-by=${MANAGED_BY},instance=${instanceLabel(config)}`;
}

export function labelsFor(workspace: Pick<Workspace, "id" | "userId">, config: Pick<Config, "APP_URL">) {
  return { "managed-by": MANAGED_BY, instance: instanceLabel(config), workspace: workspace.id, user: workspace.userId };
}
