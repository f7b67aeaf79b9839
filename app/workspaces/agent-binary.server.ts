import { z } from "zod";
import type { AgentArch } from "./cloud-init.server";

/** What `npm run deploy:agent` (and `npm start`) uploads beside the binaries: agent/bin/version.json. */
const versionSchema = z.object({
  version: z.string(),
  binaries: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

/** Why a workspace cannot get a verified agent; provisioning shows the message as it is. */
export class AgentBinaryMissing extends Error {
  name = "AgentBinaryMissing";
}

/**
 * The SHA-256 of the agent binary the download route serves for linux/`arch`, from the version.json uploaded
 * with it, for cloud-init to check the download against.
 */
export async function agentSha256(bucket: Pick<R2Bucket, "get"> | undefined, arch: AgentArch): Promise<string> {
  const object = await bucket?.get("version.json");
  if (!object)
    throw new AgentBinaryMissing(
      "No agent binaries have been uploaded (agent/bin/version.json is missing from R2): run npm run deploy:agent, then retry.",
    );
  const parsed = versionSchema.safeParse(await object.json().catch(() => null));
  const sha = parsed.success ? parsed.data.binaries[`linux-${arch}`]?.sha256 : undefined;
  if (!sha)
    throw new AgentBinaryMissing(
      `The uploaded agent has no linux-${arch} binary with a SHA-256 in version.json: run npm run deploy:agent, then retry.`,
    );
  return sha;
}
