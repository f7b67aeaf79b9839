import type { LoaderFunctionArgs } from "@remix-run/cloudflare";
import { z } from "zod";
import { methodNotAllowed } from "~/platform/responses.server";

const querySchema = z.object({
  os: z.enum(["linux", "darwin"], { error: "os must be linux or darwin" }),
  arch: z.enum(["amd64", "arm64"], { error: "arch must be amd64 or arm64" }),
});

/** Streams the VM agent binary from R2 for cloud-init (and the local cloud) to download. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const query = querySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!query.success) {
    return Response.json({ error: query.error.issues.map((issue) => issue.message).join("; ") }, { status: 400 });
  }
  const { os, arch } = query.data;
  const object = await context.cloudflare.env.AGENTS.get(`vm-agent-${os}-${arch}`);
  if (!object) {
    return Response.json(
      { error: `no agent binary for ${os}/${arch} has been uploaded (run npm run deploy:agent)` },
      { status: 404 },
    );
  }
  const headers = new Headers({
    "Content-Type": "application/octet-stream",
    "Content-Disposition": `attachment; filename="vm-agent-${os}-${arch}"`,
    "Cache-Control": "public, max-age=300",
    ETag: object.httpEtag,
  });
  if (object.size) headers.set("Content-Length", String(object.size));
  return new Response(object.body, { headers });
}

export const action = () => methodNotAllowed("GET");
