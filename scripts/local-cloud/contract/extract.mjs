#!/usr/bin/env node
// Re-cuts the response schemas the contract tests validate against from the official descriptions in
// /work/shared/api-reference (or the directory given as the first argument). Only the operations the local
// cloud serves are kept, with every component they reference; prose (description, example, examples,
// x-* annotations) is dropped to keep the files small. See README.md in this directory.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const source = process.argv[2] ?? "/work/shared/api-reference";

function strip(node) {
  if (Array.isArray(node)) return node.map(strip);
  if (!node || typeof node !== "object") return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties" && value && typeof value === "object") {
      // Property names are data here, never prose: keep a property called "description" or "title".
      out[key] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, strip(schema)]));
      continue;
    }
    if (key === "example" || key === "examples" || key.startsWith("x-")) continue;
    if ((key === "description" || key === "title") && typeof value === "string") continue;
    out[key] = strip(value);
  }
  return out;
}

function collectRefs(node, found) {
  if (Array.isArray(node)) return node.forEach((item) => collectRefs(item, found));
  if (!node || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string") found.add(value);
    else collectRefs(value, found);
  }
}

function resolvePointer(doc, ref) {
  return ref
    .slice(2)
    .split("/")
    .reduce((node, part) => node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
}

/** operations: { key: [method, path] } → { operations: { key: { status: schema } }, components } */
function cut(doc, operations, { webhooks = {} } = {}) {
  const out = { operations: {}, webhooks: {}, components: { schemas: {} } };
  const refs = new Set();
  const responseSchema = (response) => {
    if (response?.$ref) response = resolvePointer(doc, response.$ref);
    return response?.content?.["application/json"]?.schema;
  };
  for (const [key, [method, path]] of Object.entries(operations)) {
    const op = doc.paths[path]?.[method];
    if (!op) throw new Error(`${method} ${path} not in the description`);
    out.operations[key] = {};
    for (const [status, response] of Object.entries(op.responses)) {
      const schema = responseSchema(response);
      if (!schema) continue;
      out.operations[key][status] = strip(schema);
      collectRefs(schema, refs);
    }
  }
  for (const [key, name] of Object.entries(webhooks)) {
    const schema = doc["x-webhooks"][name].post.requestBody.content["application/json"].schema;
    out.webhooks[key] = strip(schema);
    collectRefs(schema, refs);
  }
  const pending = [...refs];
  while (pending.length) {
    const ref = pending.pop();
    const name = ref.split("/").pop();
    if (!ref.startsWith("#/components/schemas/")) throw new Error(`unexpected $ref ${ref}`);
    if (out.components.schemas[name]) continue;
    const schema = resolvePointer(doc, ref);
    out.components.schemas[name] = strip(schema);
    const more = new Set();
    collectRefs(schema, more);
    for (const next of more) if (!out.components.schemas[next.split("/").pop()]) pending.push(next);
  }
  return out;
}

function write(name, meta, content) {
  writeFileSync(join(here, name), `${JSON.stringify({ source: meta, ...content }, null, 1)}\n`);
  console.log(`wrote ${name}`);
}

const hetzner = JSON.parse(readFileSync(join(source, "hetzner-cloud.openapi.json"), "utf8"));
write(
  "hetzner.json",
  "Hetzner Cloud API description (docs.hetzner.cloud/cloud.spec.json, snapshot 2026-05-11), response schemas only",
  cut(hetzner, {
    list_servers: ["get", "/servers"],
    create_server: ["post", "/servers"],
    get_server: ["get", "/servers/{id}"],
    delete_server: ["delete", "/servers/{id}"],
    poweroff_server: ["post", "/servers/{id}/actions/poweroff"],
    get_action: ["get", "/actions/{id}"],
    list_server_types: ["get", "/server_types"],
    list_locations: ["get", "/locations"],
    list_datacenters: ["get", "/datacenters"],
    list_images: ["get", "/images"],
    get_image: ["get", "/images/{id}"],
    delete_image: ["delete", "/images/{id}"],
    create_image: ["post", "/servers/{id}/actions/create_image"],
    list_firewalls: ["get", "/firewalls"],
    create_firewall: ["post", "/firewalls"],
    get_firewall: ["get", "/firewalls/{id}"],
    update_firewall: ["put", "/firewalls/{id}"],
    apply_firewall_to_resources: ["post", "/firewalls/{id}/actions/apply_to_resources"],
    remove_firewall_from_resources: ["post", "/firewalls/{id}/actions/remove_from_resources"],
    list_volumes: ["get", "/volumes"],
    create_volume: ["post", "/volumes"],
    get_volume: ["get", "/volumes/{id}"],
    update_volume: ["put", "/volumes/{id}"],
    delete_volume: ["delete", "/volumes/{id}"],
    attach_volume: ["post", "/volumes/{id}/actions/attach"],
    detach_volume: ["post", "/volumes/{id}/actions/detach"],
    get_pricing: ["get", "/pricing"],
  }),
);

const cloudflare = JSON.parse(readFileSync(join(source, "cloudflare.openapi.json"), "utf8"));
const common = parse(readFileSync(join(source, "cloudflare-common.openapi.yaml"), "utf8"));
const cfCut = cut(cloudflare, {
  verify_token: ["get", "/user/tokens/verify"],
  list_zones: ["get", "/zones"],
  get_zone: ["get", "/zones/{zone_id}"],
  list_dns_records: ["get", "/zones/{zone_id}/dns_records"],
  create_dns_record: ["post", "/zones/{zone_id}/dns_records"],
  get_dns_record: ["get", "/zones/{zone_id}/dns_records/{dns_record_id}"],
  patch_dns_record: ["patch", "/zones/{zone_id}/dns_records/{dns_record_id}"],
  update_dns_record: ["put", "/zones/{zone_id}/dns_records/{dns_record_id}"],
  delete_dns_record: ["delete", "/zones/{zone_id}/dns_records/{dns_record_id}"],
  list_certificates: ["get", "/certificates"],
  create_certificate: ["post", "/certificates"],
  get_certificate: ["get", "/certificates/{certificate_id}"],
  revoke_certificate: ["delete", "/certificates/{certificate_id}"],
  list_d1: ["get", "/accounts/{account_id}/d1/database"],
  create_d1: ["post", "/accounts/{account_id}/d1/database"],
  list_kv: ["get", "/accounts/{account_id}/storage/kv/namespaces"],
  create_kv: ["post", "/accounts/{account_id}/storage/kv/namespaces"],
  list_r2: ["get", "/accounts/{account_id}/r2/buckets"],
  create_r2: ["post", "/accounts/{account_id}/r2/buckets"],
  list_pages: ["get", "/accounts/{account_id}/pages/projects"],
  create_pages: ["post", "/accounts/{account_id}/pages/projects"],
});
// The current common envelope (2026), which every answer must also satisfy.
for (const name of [
  "api-response-common",
  "api-response-common-failure",
  "api-response-collection",
  "api-response-single",
  "messages",
]) {
  cfCut.components.schemas[`common_${name}`] = strip(
    JSON.parse(
      JSON.stringify(common.components.schemas[name]).replaceAll(
        "#/components/schemas/",
        "#/components/schemas/common_",
      ),
    ),
  );
}
const commonRefs = new Set();
collectRefs(cfCut.components.schemas, commonRefs);
for (const ref of commonRefs) {
  const name = ref.split("/").pop();
  if (name.startsWith("common_") && !cfCut.components.schemas[name]) {
    cfCut.components.schemas[name] = strip(
      JSON.parse(
        JSON.stringify(common.components.schemas[name.slice(7)]).replaceAll(
          "#/components/schemas/",
          "#/components/schemas/common_",
        ),
      ),
    );
  }
}
write(
  "cloudflare.json",
  "cloudflare/api-schemas openapi.json at cca3064f (2024-08-06) and common.yaml at 2ac8369e (2026-08-14), response schemas only",
  cfCut,
);

const github = JSON.parse(readFileSync(join(source, "github.openapi.json"), "utf8"));
// The pulls description (same release) adds branches, comparisons and pull requests; shared components
// (simple-user, repository, …) are the same schemas in both.
const githubPulls = JSON.parse(readFileSync(join(source, "github-pulls.openapi.json"), "utf8"));
const pullsCut = cut(githubPulls, {
  get_branch: ["get", "/repos/{owner}/{repo}/branches/{branch}"],
  compare_commits: ["get", "/repos/{owner}/{repo}/compare/{basehead}"],
  list_pulls: ["get", "/repos/{owner}/{repo}/pulls"],
  create_pull: ["post", "/repos/{owner}/{repo}/pulls"],
  get_pull: ["get", "/repos/{owner}/{repo}/pulls/{pull_number}"],
});
const withPulls = (githubCut) => ({
  operations: { ...githubCut.operations, ...pullsCut.operations },
  webhooks: githubCut.webhooks,
  components: { schemas: { ...githubCut.components.schemas, ...pullsCut.components.schemas } },
});
write(
  "github.json",
  "github/rest-api-description api.github.com.json and the pulls subset via @octokit/openapi 23.0.2 (2026-09), response and webhook schemas only",
  withPulls(
    cut(
      github,
      {
        get_authenticated_user: ["get", "/user"],
        list_emails: ["get", "/user/emails"],
        list_user_installations: ["get", "/user/installations"],
        list_user_installation_repos: ["get", "/user/installations/{installation_id}/repositories"],
        get_installation: ["get", "/app/installations/{installation_id}"],
        create_installation_access_token: ["post", "/app/installations/{installation_id}/access_tokens"],
        list_installation_repos: ["get", "/installation/repositories"],
        get_repo: ["get", "/repos/{owner}/{repo}"],
        list_branches: ["get", "/repos/{owner}/{repo}/branches"],
      },
      {
        webhooks: {
          installation_created: "installation-created",
          installation_deleted: "installation-deleted",
          installation_suspend: "installation-suspend",
          installation_unsuspend: "installation-unsuspend",
          installation_new_permissions_accepted: "installation-new-permissions-accepted",
          installation_repositories_added: "installation-repositories-added",
          installation_repositories_removed: "installation-repositories-removed",
        },
      },
    ),
  ),
);
