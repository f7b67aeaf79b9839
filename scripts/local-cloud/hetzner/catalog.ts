// The fixed parts of the emulated Hetzner project: locations, data centers, server types and images.
// Figures are plausible, not a price list; prices are strings, as in the API.

export interface Location {
  id: number;
  name: string;
  description: string;
  country: string;
  city: string;
  latitude: number;
  longitude: number;
  network_zone: string;
}

export const LOCATIONS: Location[] = [
  {
    id: 1,
    name: "fsn1",
    description: "Falkenstein DC Park 1",
    country: "DE",
    city: "Falkenstein",
    latitude: 50.47612,
    longitude: 12.370071,
    network_zone: "eu-central",
  },
  {
    id: 2,
    name: "nbg1",
    description: "Nuremberg DC Park 1",
    country: "DE",
    city: "Nuremberg",
    latitude: 49.452102,
    longitude: 11.076665,
    network_zone: "eu-central",
  },
  {
    id: 3,
    name: "hel1",
    description: "Helsinki DC Park 1",
    country: "FI",
    city: "Helsinki",
    latitude: 60.169855,
    longitude: 24.938379,
    network_zone: "eu-central",
  },
];

const DATACENTER_NAMES: Record<string, { id: number; name: string; description: string }> = {
  fsn1: { id: 4, name: "fsn1-dc14", description: "Falkenstein 1 virtual DC 14" },
  nbg1: { id: 2, name: "nbg1-dc3", description: "Nuremberg 1 virtual DC 3" },
  hel1: { id: 3, name: "hel1-dc2", description: "Helsinki 1 virtual DC 2" },
};

interface ServerTypeSpec {
  id: number;
  name: string;
  cores: number;
  memory: number;
  disk: number;
  cpu_type: "shared" | "dedicated";
  architecture: "x86" | "arm";
  monthlyNet: string;
  category: string;
}

const SERVER_TYPE_SPECS: ServerTypeSpec[] = [
  {
    id: 114,
    name: "cx23",
    cores: 2,
    memory: 4,
    disk: 40,
    cpu_type: "shared",
    architecture: "x86",
    monthlyNet: "2.9900",
    category: "cost_optimized",
  },
  {
    id: 115,
    name: "cx33",
    cores: 4,
    memory: 8,
    disk: 80,
    cpu_type: "shared",
    architecture: "x86",
    monthlyNet: "4.9900",
    category: "cost_optimized",
  },
  {
    id: 116,
    name: "cx43",
    cores: 8,
    memory: 16,
    disk: 160,
    cpu_type: "shared",
    architecture: "x86",
    monthlyNet: "8.9900",
    category: "cost_optimized",
  },
  {
    id: 117,
    name: "cx53",
    cores: 16,
    memory: 32,
    disk: 320,
    cpu_type: "shared",
    architecture: "x86",
    monthlyNet: "16.9900",
    category: "cost_optimized",
  },
  {
    id: 109,
    name: "cpx22",
    cores: 2,
    memory: 4,
    disk: 80,
    cpu_type: "shared",
    architecture: "x86",
    monthlyNet: "5.9900",
    category: "regular_purpose",
  },
  {
    id: 45,
    name: "cax11",
    cores: 2,
    memory: 4,
    disk: 40,
    cpu_type: "shared",
    architecture: "arm",
    monthlyNet: "3.7900",
    category: "cost_optimized",
  },
];

const SCALE = 10n ** 10n;

/** "2.99" → { net: "2.9900000000", gross: "3.5581000000000000" } (gross = net × 1.19, German VAT). */
export function price(net: string): { net: string; gross: string } {
  const [whole = "0", fraction = ""] = net.split(".");
  const units = BigInt(whole) * SCALE + BigInt((fraction + "0000000000").slice(0, 10));
  const grossUnits = (units * 119n * 10n ** 6n) / 100n; // 16 decimals
  const format = (value: bigint, decimals: number) => {
    const text = value.toString().padStart(decimals + 1, "0");
    return `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
  };
  return { net: format(units, 10), gross: format(grossUnits, 16) };
}

function hourly(monthlyNet: string): string {
  // Hetzner bills hourly up to the monthly cap; one month is capped at about 672 hours.
  const value = Number(monthlyNet) / 672;
  return value.toFixed(4);
}

export function serverTypeJson(spec: ServerTypeSpec) {
  return {
    id: spec.id,
    name: spec.name,
    description: spec.name.toUpperCase(),
    cores: spec.cores,
    memory: spec.memory,
    disk: spec.disk,
    deprecated: false,
    prices: LOCATIONS.map((location) => ({
      location: location.name,
      price_hourly: price(hourly(spec.monthlyNet)),
      price_monthly: price(spec.monthlyNet),
      included_traffic: 21990232555520,
      price_per_tb_traffic: price("1.0000"),
    })),
    storage_type: "local",
    cpu_type: spec.cpu_type,
    category: spec.category,
    architecture: spec.architecture,
    deprecation: null,
    locations: LOCATIONS.map((location) => ({
      id: location.id,
      name: location.name,
      deprecation: null,
      available: true,
      recommended: true,
    })),
  };
}

export const SERVER_TYPES = SERVER_TYPE_SPECS;

export function datacenterJson(location: Location) {
  const dc = DATACENTER_NAMES[location.name]!;
  const ids = SERVER_TYPE_SPECS.map((spec) => spec.id);
  return { ...dc, location, server_types: { supported: ids, available: ids, available_for_migration: ids } };
}

interface ImageSpec {
  id: number;
  name: string;
  description: string;
  os_flavor: string;
  os_version: string;
  architecture: "x86" | "arm";
}

export const IMAGES: ImageSpec[] = [
  {
    id: 161547269,
    name: "ubuntu-24.04",
    description: "Ubuntu 24.04",
    os_flavor: "ubuntu",
    os_version: "24.04",
    architecture: "x86",
  },
  {
    id: 103908130,
    name: "ubuntu-22.04",
    description: "Ubuntu 22.04",
    os_flavor: "ubuntu",
    os_version: "22.04",
    architecture: "x86",
  },
  {
    id: 114690387,
    name: "debian-12",
    description: "Debian 12",
    os_flavor: "debian",
    os_version: "12",
    architecture: "x86",
  },
  {
    id: 161547270,
    name: "ubuntu-24.04",
    description: "Ubuntu 24.04",
    os_flavor: "ubuntu",
    os_version: "24.04",
    architecture: "arm",
  },
];

export function imageJson(image: ImageSpec) {
  return {
    id: image.id,
    type: "system",
    status: "available",
    name: image.name,
    description: image.description,
    image_size: null,
    disk_size: 5,
    created: "2024-04-25T00:00:00Z",
    created_from: null,
    bound_to: null,
    os_flavor: image.os_flavor,
    os_version: image.os_version,
    rapid_deploy: true,
    protection: { delete: false },
    deprecated: null,
    deleted: null,
    labels: {},
    architecture: image.architecture,
  };
}

/** "ID or name": a number matches the id, anything else the name. */
export function byIdOrName<T extends { id: number; name: string }>(list: T[], value: unknown): T | undefined {
  if (typeof value === "number") return list.find((item) => item.id === value);
  if (typeof value !== "string") return undefined;
  return /^\d+$/.test(value)
    ? list.find((item) => item.id === Number(value))
    : list.find((item) => item.name === value);
}

/** The project owner's VAT (German, 19 %) that every gross price here includes. */
const VAT_RATE = "19.00";
/** What a GB of volume costs a month, net (Hetzner's list price at the time of writing). */
export const VOLUME_PRICE_PER_GB_MONTH_NET = "0.0440";

/** GET /pricing: the same server type prices as /server_types, volumes per GB and month, in euros. */
export function pricingJson() {
  const perLocation = <T>(make: () => T) => LOCATIONS.map((location) => ({ location: location.name, ...make() }));
  return {
    currency: "EUR",
    vat_rate: VAT_RATE,
    primary_ips: [
      { type: "ipv4", prices: perLocation(() => ({ price_hourly: price("0.0008"), price_monthly: price("0.5000") })) },
      { type: "ipv6", prices: perLocation(() => ({ price_hourly: price("0.0000"), price_monthly: price("0.0000") })) },
    ],
    floating_ips: [{ type: "ipv4", prices: perLocation(() => ({ price_monthly: price("3.0000") })) }],
    floating_ip: { price_monthly: price("3.0000") },
    image: { price_per_gb_month: price("0.0110") },
    volume: { price_per_gb_month: price(VOLUME_PRICE_PER_GB_MONTH_NET) },
    server_backup: { percentage: "20.00" },
    server_types: SERVER_TYPE_SPECS.map((spec) => {
      const { id, name, prices } = serverTypeJson(spec);
      return { id, name, prices };
    }),
    load_balancer_types: [],
  };
}
