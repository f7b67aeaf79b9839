import { describe, expect, it } from "vitest";
import { defaultPolicy, savePolicy } from "../admin/policy.server";
import { users } from "../db/schema";
import { testContext } from "../../tests/support/context.workers";
import { newWorkspace, useFreshUser, userId } from "../../tests/support/workspaces.workers";
import { volumePlan } from "./volume-policy.server";

useFreshUser();
const { context } = testContext();

const policy = (changes: Partial<typeof defaultPolicy>) => savePolicy(context, { ...defaultPolicy, ...changes });

describe("volumePlan", () => {
  it("gives a new workspace the policy's volume size, or none when volumes are off", async () => {
    await policy({ volumeDefaultGb: 20, volumeMaxGb: 40, volumeTotalGbPerUser: 100 });
    expect(await volumePlan(context, userId)).toEqual({ sizeGb: 20 });
    await policy({ volumesEnabled: false });
    expect(await volumePlan(context, userId)).toBeNull();
  });

  it("counts the user's volumes, stopped workspaces' too, and refuses one that would pass the total", async () => {
    await policy({ volumeDefaultGb: 20, volumeMaxGb: 40, volumeTotalGbPerUser: 60 });
    await newWorkspace({ status: "running", volumeId: 1, volumeSizeGb: 20 });
    await newWorkspace({ status: "stopped", volumeId: 2, volumeSizeGb: 20 });
    // A workspace whose volume is gone (deleted after the retention) holds nothing.
    await newWorkspace({ status: "stopped", volumeId: null, volumeSizeGb: 40 });
    expect(await volumePlan(context, userId)).toEqual({ sizeGb: 20 });

    await newWorkspace({ status: "stopped", volumeId: 3, volumeSizeGb: 10 });
    const refused = await volumePlan(context, userId);
    expect(refused).toEqual({ error: expect.stringContaining("take 50 GB of the 60 GB") });
    expect(refused && "error" in refused && refused.error).toContain("delete a stopped workspace");
  });

  it("does not count other users' volumes", async () => {
    await policy({ volumeDefaultGb: 10, volumeMaxGb: 10, volumeTotalGbPerUser: 10 });
    const [other] = await context.db
      .insert(users)
      .values({ githubId: Math.floor(Math.random() * 1e9), login: `other-${crypto.randomUUID().slice(0, 8)}` })
      .returning();
    await newWorkspace({ userId: other!.id, status: "stopped", volumeId: 4, volumeSizeGb: 10 });
    expect(await volumePlan(context, userId)).toEqual({ sizeGb: 10 });
  });
});
