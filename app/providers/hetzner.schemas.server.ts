import { z } from "zod";

/** The parts of Hetzner Cloud's answers the client reads (hetzner.server.ts); unknown fields are dropped. */

export const labels = z.record(z.string(), z.string());
const price = z.object({ net: z.string(), gross: z.string() });
const deprecation = z.object({ announced: z.string(), unavailable_after: z.string() }).nullable();

export const locationSchema = z.object({
  id: z.number(),
  name: z.string(),
  description: z.string(),
  country: z.string(),
  city: z.string(),
  latitude: z.number(),
  longitude: z.number(),
  network_zone: z.string(),
});

export const serverTypeSchema = z.object({
  id: z.number(),
  name: z.string(),
  description: z.string(),
  cores: z.number(),
  memory: z.number(),
  disk: z.number(),
  cpu_type: z.string(),
  architecture: z.string(),
  deprecated: z.boolean().nullish(),
  prices: z.array(
    z.object({
      location: z.string(),
      price_hourly: price,
      price_monthly: price,
      included_traffic: z.number().optional(),
      price_per_tb_traffic: price.optional(),
    }),
  ),
  locations: z
    .array(
      z.object({
        id: z.number(),
        name: z.string(),
        deprecation: deprecation.optional(),
        available: z.boolean().optional(),
        recommended: z.boolean().optional(),
      }),
    )
    .optional(),
});

export const serverSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    status: z.enum([
      "running",
      "initializing",
      "starting",
      "stopping",
      "off",
      "deleting",
      "migrating",
      "rebuilding",
      "unknown",
    ]),
    created: z.string(),
    public_net: z.object({
      ipv4: z.object({ id: z.number().optional(), ip: z.string() }).nullable(),
      ipv6: z.object({ id: z.number().optional(), ip: z.string() }).nullable(),
      firewalls: z.array(z.object({ id: z.number(), status: z.string() })).optional(),
    }),
    server_type: z.object({ id: z.number(), name: z.string() }),
    // `datacenter` is deprecated (to be removed after 1 July 2026) in favour of `location`; accept either.
    location: z.object({ id: z.number(), name: z.string() }).optional(),
    datacenter: z
      .object({ id: z.number(), name: z.string(), location: z.object({ id: z.number(), name: z.string() }) })
      .optional(),
    labels,
  })
  .transform(({ location, datacenter, ...server }, ctx) => {
    const place = location ?? datacenter?.location;
    if (!place) {
      ctx.addIssue({ code: "custom", message: "server has neither location nor datacenter" });
      return z.NEVER;
    }
    return { ...server, location: place };
  });

export const actionSchema = z.object({
  id: z.number(),
  command: z.string(),
  status: z.enum(["running", "success", "error"]),
  progress: z.number(),
  started: z.string(),
  finished: z.string().nullable(),
  resources: z.array(z.object({ id: z.number(), type: z.string() })),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

export const firewallRuleSchema = z.object({
  description: z.string().nullish(),
  direction: z.enum(["in", "out"]),
  protocol: z.enum(["tcp", "udp", "icmp", "esp", "gre"]),
  port: z.string().nullish(),
  source_ips: z.array(z.string()).optional(),
  destination_ips: z.array(z.string()).optional(),
});

export const firewallResourceSchema = z.union([
  z.object({ type: z.literal("server"), server: z.object({ id: z.number() }) }),
  z.object({ type: z.literal("label_selector"), label_selector: z.object({ selector: z.string() }) }),
]);

export const firewallSchema = z.object({
  id: z.number(),
  name: z.string(),
  labels: labels.optional(),
  created: z.string(),
  rules: z.array(firewallRuleSchema),
  applied_to: z.array(
    z.object({
      type: z.enum(["server", "label_selector"]),
      server: z.object({ id: z.number() }).optional(),
      label_selector: z.object({ selector: z.string() }).optional(),
    }),
  ),
});

export const paginationSchema = z.object({
  meta: z.object({
    pagination: z.object({
      page: z.number(),
      per_page: z.number(),
      next_page: z.number().nullable(),
      last_page: z.number().nullable().optional(),
      total_entries: z.number().nullable().optional(),
    }),
  }),
});

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export const imageSchema = z.object({
  id: z.number(),
  type: z.enum(["system", "app", "snapshot", "backup"]),
  status: z.enum(["available", "creating", "unavailable"]),
  name: z.string().nullable(),
  description: z.string(),
  created: z.string(),
  labels,
  architecture: z.string(),
});

export const volumeSchema = z.object({
  id: z.number(),
  name: z.string(),
  size: z.number(),
  status: z.enum(["creating", "available"]),
  server: z.number().nullable(),
  location: z.object({ name: z.string() }),
  labels,
  linux_device: z.string(),
  format: z.string().nullable(),
  created: z.string(),
  protection: z.object({ delete: z.boolean() }),
});

export const pricingSchema = z.object({
  pricing: z.object({
    currency: z.string(),
    vat_rate: z.string(),
    volume: z.object({ price_per_gb_month: price }),
  }),
});

export type HetznerImage = z.infer<typeof imageSchema>;
export type HetznerVolume = z.infer<typeof volumeSchema>;
export type HetznerLocation = z.infer<typeof locationSchema>;
export type HetznerServerType = z.infer<typeof serverTypeSchema>;
export type HetznerServer = z.output<typeof serverSchema>;
export type HetznerAction = z.infer<typeof actionSchema>;
export type HetznerFirewall = z.infer<typeof firewallSchema>;
export type HetznerFirewallRule = z.infer<typeof firewallRuleSchema>;
/** What a firewall applies to: one server, or every server matching a label selector. */
export type HetznerFirewallResource = z.infer<typeof firewallResourceSchema>;
