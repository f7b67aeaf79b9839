import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as schema from "../db/schema";
import { ProviderError } from "../providers/http.server";
import { provision } from "./provision.server";
import { finishStop } from "./teardown.server";
import { claimStop, listEvents } from "./workspaces.server";
import {
  config,
  db,
  deps,
  fakeClouds,
  newWorkspace,
  reload,
  useFreshUser,
  userId,
} from "../../tests/support/workspaces.workers";

useFreshUser();

describe("teardown", () => {
  it("a DNS failure on stop does not keep the server: it goes, and the workspace says what is left", async () => {
    const fake = fakeClouds();
    const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
    await provision(deps, workspace, { clouds: fake.factory });
    await db.update(schema.workspaces).set({ status: "running" }).where(eq(schema.workspaces.id, workspace.id));
    fake.failures.set(
      "deleteRecord",
      new ProviderError({ provider: "cloudflare", status: 500, message: "Internal server error" }),
    );

    const stopping = await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
    await finishStop(deps, stopping!, { clouds: fake.factory });
    expect(fake.servers.size + fake.firewalls.size).toBe(0);
    expect(fake.records.size).toBe(1);
    expect(await reload(workspace.id)).toMatchObject({ status: "error", error: expect.stringMatching(/Cloudflare/) });
  });

  it("stop revokes the run's certificate; a revocation Cloudflare refuses is noted and the stop still completes", async () => {
    const fake = fakeClouds();
    for (const refuse of [false, true]) {
      const workspace = await newWorkspace({ startedAt: new Date(Date.now() - 60_000) });
      await provision(deps, workspace, { clouds: fake.factory });
      const { id: certificateId } = await fake.clouds.zone.issueCertificate(
        `ws-${workspace.id}.${config.BASE_DOMAIN}`,
        "csr",
      );
      await db
        .update(schema.workspaces)
        .set({ status: "running", certificateId })
        .where(eq(schema.workspaces.id, workspace.id));
      if (refuse)
        fake.failures.set(
          "revokeCertificate",
          new ProviderError({ provider: "cloudflare", status: 403, code: "10000", message: "Authentication error" }),
        );

      const stopping = await claimStop(deps, { id: workspace.id, userId }, "Stopped by you");
      await finishStop(deps, stopping!, { clouds: fake.factory });
      expect((await reload(workspace.id))!.status).toBe("stopped");
      expect(fake.certificates.get(certificateId)!.revoked).toBe(!refuse);
      expect((await reload(workspace.id))!.certificateId).toBe(refuse ? certificateId : null);
      const noted = (await listEvents(db, workspace.id)).filter(
        (event) => event.step === "certificate" && event.status === "error",
      );
      expect(noted.map((event) => event.message)).toEqual(
        refuse ? [expect.stringContaining("Authentication error")] : [],
      );
    }
  });
});
