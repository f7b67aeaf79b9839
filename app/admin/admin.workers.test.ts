import { describe, expect, it } from "vitest";
import { auditLog, users, workspaces } from "../db/schema";
import { listWorkspaces } from "../workspaces/list.server";
import { newWorkspaceId } from "../workspaces/workspaces.server";
import { testContext } from "../../tests/support/context.workers";
import { loadAdmin } from "./admin.server";
import { defaultPolicy, savePolicy } from "./policy.server";

const { context } = testContext();
const { db } = context;

/** Two users with 30 and 10 workspaces (every other one running), 26 more users and 30 audit entries. */
async function seed() {
  const tag = crypto.randomUUID().slice(0, 8);
  const [alice, bob] = await db
    .insert(users)
    .values([
      { githubId: Math.floor(Math.random() * 1e9), login: `alice-${tag}` },
      { githubId: Math.floor(Math.random() * 1e9), login: `bob-${tag}` },
    ])
    .returning();
  const base = Date.now() - 1e6;
  const rows = Array.from({ length: 40 }, (_, i) => ({
    id: newWorkspaceId(),
    userId: i < 30 ? alice!.id : bob!.id,
    name: `ws-${tag}-${String(i).padStart(2, "0")}`,
    status: i % 2 ? ("stopped" as const) : ("running" as const),
    repository: `org-${tag}/repo`,
    size: "small",
    serverType: "cx23",
    location: "fsn1",
    createdAt: new Date(base + i * 1000),
  }));
  // D1 binds at most 100 parameters a statement.
  for (const row of rows) await db.insert(workspaces).values(row);
  for (let i = 0; i < 26; i++) {
    await db
      .insert(users)
      .values({ githubId: Math.floor(Math.random() * 1e9), login: `user-${tag}-${String(i).padStart(2, "0")}` });
  }
  for (let i = 0; i < 30; i++) {
    await db.insert(auditLog).values({ userId: alice!.id, action: `test.${tag}`, details: { i } });
  }
  return { tag, alice: alice!, bob: bob! };
}

const load = (query: string) => loadAdmin(context, new URL(`http://localhost/admin?${query}`));

async function refusal(query: string) {
  const thrown = await load(query).then(
    () => null,
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(Response);
  const response = thrown as Response;
  return { status: response.status, text: await response.text() };
}

describe("the admin page's lists", () => {
  it("pages everyone's workspaces 25 at a time, newest first, with their owners", async () => {
    const { tag, alice, bob } = await seed();
    const first = await load(`ws_q=${tag}`);
    expect(first.workspacesTotal).toBe(40);
    expect(first.workspaces.map((row) => row.name)).toEqual(
      Array.from({ length: 25 }, (_, i) => `ws-${tag}-${String(39 - i).padStart(2, "0")}`),
    );
    expect(first.workspaces[0]!.login).toBe(bob.login);
    expect(first.workspaces[24]!.login).toBe(alice.login);
    expect(first.workspacesNextCursor).toMatch(/^\d+\.[a-z2-7]{12}$/);

    const second = await load(`ws_q=${tag}&ws_cursor=${first.workspacesNextCursor}`);
    expect(second.workspaces.map((row) => row.name)).toEqual(
      Array.from({ length: 15 }, (_, i) => `ws-${tag}-${String(14 - i).padStart(2, "0")}`),
    );
    expect(second.workspacesNextCursor).toBeNull();
    expect(second.workspacesTotal).toBe(40);
  });

  it("filters workspaces by status and searches by name, repository or owner login", async () => {
    const { tag, alice, bob } = await seed();
    const byOwner = await load(`ws_q=${bob.login}`);
    expect(byOwner.workspacesTotal).toBe(10);
    expect(new Set(byOwner.workspaces.map((row) => row.login))).toEqual(new Set([bob.login]));

    const running = await load(`ws_q=${alice.login}&ws_status=running`);
    expect(running.workspacesTotal).toBe(15);
    expect(running.workspaces.every((row) => row.status === "running")).toBe(true);
    expect(running.workspacesFiltered).toBe(true);

    expect((await load(`ws_q=org-${tag}/repo`)).workspacesTotal).toBe(40);
    expect((await load(`ws_q=ws-${tag}-3`)).workspacesTotal).toBe(10);
    // A % is matched as itself, not as a wildcard.
    expect((await load(`ws_q=${encodeURIComponent(`ws-${tag}%`)}`)).workspacesTotal).toBe(0);
    // An empty filter is no filter.
    expect((await load(`ws_q=&ws_status=`)).workspacesFiltered).toBe(false);
  });

  it("the dashboard's list stays the owner's own: another's login matches nothing there", async () => {
    const { alice, bob } = await seed();
    expect((await listWorkspaces(db, alice.id, { search: bob.login })).total).toBe(0);
    expect((await listWorkspaces(db, bob.id)).total).toBe(10);
  });

  it("pages the audit log newest first, and users by login, each with its own cursor", async () => {
    const { tag } = await seed();
    const first = await load("");
    expect(first.audit).toHaveLength(25);
    expect(first.audit.every((row) => row.action === `test.${tag}`)).toBe(true);
    expect(first.auditNextCursor).toBe(String(first.audit[24]!.id));
    const second = await load(`audit_cursor=${first.auditNextCursor}`);
    expect(second.audit[0]!.id).toBe(first.audit[24]!.id - 1);
    expect(second.audit.slice(0, 5).map((row) => row.action)).toEqual(Array(5).fill(`test.${tag}`));
    // Paging the audit log leaves the other lists on their first page.
    expect(second.users).toEqual(first.users);

    expect(first.users).toHaveLength(25);
    expect(first.usersTotal).toBeGreaterThanOrEqual(28);
    const logins = first.users.map((user) => user.login);
    expect(logins).toEqual([...logins].sort());
    expect(first.usersNextCursor).toBe(first.users[24]!.id);
    const next = await load(`users_cursor=${first.usersNextCursor}`);
    expect(next.users.length).toBeGreaterThan(0);
    expect(next.users[0]!.login >= first.users[24]!.login).toBe(true);
    expect(next.users.map((user) => user.id)).not.toContain(first.users[24]!.id);
    const alice = [...first.users, ...next.users].find((user) => user.login === `alice-${tag}`);
    if (alice) expect(alice.workspaces).toBe(30);
  });

  it("a made-up cursor or status is a 400 that says what to do", async () => {
    for (const query of ["ws_cursor=nonsense", "users_cursor=nonsense", "audit_cursor=nonsense"]) {
      expect(await refusal(query)).toEqual({
        status: 400,
        text: "This page link is not valid: start from the first page",
      });
    }
    expect(await refusal("ws_status=exploded")).toEqual({ status: 400, text: "Unknown status" });
  });

  it("lists every volume SAM knows, stopped workspaces' and those of owners who lost access, with price and deadline", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const [alice, bob] = await db
      .insert(users)
      .values([
        { githubId: Math.floor(Math.random() * 1e9), login: `vol-alice-${tag}` },
        { githubId: Math.floor(Math.random() * 1e9), login: `vol-bob-${tag}` },
      ])
      .returning();
    await savePolicy(context, { ...defaultPolicy, volumeRetentionDays: 30, allowedLogins: [alice!.login] });
    const day = 24 * 60 * 60 * 1000;
    const stoppedAt = Date.now() - 2 * day;
    // Newest first: bob's stopped workspace, then alice's 26 (one running), then one with no volume at all.
    const base = Date.now() - 10 * day;
    await db.insert(workspaces).values({
      id: newWorkspaceId(),
      userId: alice!.id,
      name: `novol-${tag}`,
      status: "stopped",
      size: "small",
      serverType: "cx23",
      location: "fsn1",
      createdAt: new Date(base - 1000),
    });
    for (let i = 0; i < 26; i++) {
      await db.insert(workspaces).values({
        id: newWorkspaceId(),
        userId: alice!.id,
        name: `vol-${tag}-${String(i).padStart(2, "0")}`,
        status: i === 0 ? "running" : "stopped",
        size: "small",
        serverType: "cx23",
        location: "nbg1",
        volumeId: 1000 + i,
        volumeSizeGb: 10,
        volumeMonthlyPrice: "0.5236",
        startedAt: new Date(stoppedAt - day),
        stoppedAt: i === 0 ? null : new Date(stoppedAt),
        createdAt: new Date(base + i * 1000),
      });
    }
    await db.insert(workspaces).values({
      id: newWorkspaceId(),
      userId: bob!.id,
      name: `vol-bob-ws-${tag}`,
      status: "stopped",
      size: "small",
      serverType: "cx23",
      location: "hel1",
      volumeId: 2000,
      volumeSizeGb: 20,
      volumeMonthlyPrice: "1.0472",
      startedAt: new Date(stoppedAt - day),
      stoppedAt: new Date(stoppedAt),
      createdAt: new Date(base + 30_000),
    });

    try {
      const first = await load("");
      const ours = (page: typeof first) => page.volumes.filter((volume) => volume.workspaceName.includes(tag));
      expect(first.volumesTotal).toBeGreaterThanOrEqual(27);
      expect(first.volumes).toHaveLength(25);
      const [bobs, ...alices] = ours(first);
      expect(bobs).toMatchObject({
        volumeId: 2000,
        login: bob!.login,
        ownerMaySignIn: false,
        sizeGb: 20,
        location: "hel1",
        monthlyPrice: 1.0472,
        restingSince: stoppedAt,
        deleteAt: stoppedAt + 30 * day,
      });
      expect(alices[0]).toMatchObject({ login: alice!.login, ownerMaySignIn: true, monthlyPrice: 0.5236 });

      const rest: typeof first.volumes = [];
      for (let cursor = first.volumesNextCursor; cursor; ) {
        const page = await load(`vol_cursor=${cursor}`);
        rest.push(...ours(page));
        cursor = page.volumesNextCursor;
      }
      const all = [...ours(first), ...rest];
      expect(all.map((volume) => volume.volumeId).sort()).toEqual([
        ...Array.from({ length: 26 }, (_, i) => 1000 + i),
        2000,
      ]);
      const running = all.find((volume) => volume.volumeId === 1000)!;
      expect(running).toMatchObject({ status: "running", restingSince: null, deleteAt: null });
      expect(all.some((volume) => volume.workspaceName === `novol-${tag}`)).toBe(false);
      expect(await refusal("vol_cursor=nonsense")).toEqual({
        status: 400,
        text: "This page link is not valid: start from the first page",
      });
    } finally {
      await savePolicy(context, defaultPolicy);
    }
  });
});
