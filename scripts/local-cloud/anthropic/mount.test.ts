import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalCloud } from "../server";
import { LOCAL_ANTHROPIC_API_KEY } from "../server";
import { startTestCloud } from "../test-support";

/** The stand-in as local servers reach it: mounted in the local cloud at /anthropic, controls at /_local/anthropic. */
describe("the Anthropic stand-in in the local cloud", () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startTestCloud();
  });
  afterAll(() => cloud.close());

  const messages = (key: string) =>
    fetch(`${cloud.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-test", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }),
    });

  it("answers the fixed test key with a queued reply, and refuses any other key as the API does", async () => {
    const queued = await fetch(`${cloud.url}/_local/anthropic/replies`, {
      method: "POST",
      body: JSON.stringify({ text: ["Hello", " there"] }),
    });
    expect(queued.status).toBe(201);
    const answer = await messages(LOCAL_ANTHROPIC_API_KEY);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ content: [{ type: "text", text: "Hello there" }] });

    const refused = await messages("sk-ant-api03-somebody-elses-key-0000000000000");
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { type: "authentication_error" } });
  });

  it("shows in the state snapshot and is emptied by the cloud's reset", async () => {
    await fetch(`${cloud.url}/_local/anthropic/replies`, { method: "POST", body: JSON.stringify({ text: ["x"] }) });
    expect(cloud.state().anthropic).toEqual({ pending_replies: 1, requests: 2 });
    const requests = (await (await fetch(`${cloud.url}/_local/anthropic/requests`)).json()) as unknown[];
    expect(requests).toHaveLength(2);
    expect((await fetch(`${cloud.url}/_local/reset`, { method: "POST" })).status).toBe(200);
    expect(cloud.state().anthropic).toEqual({ pending_replies: 0, requests: 0 });
  });
});

describe("scripted replies for an agent's turn", () => {
  it("go only to requests that offer tools when marked withTools, so a side request cannot take them", async () => {
    const cloud = await startTestCloud();
    try {
      const ask = (tools: unknown[]) =>
        fetch(`${cloud.url}/anthropic/v1/messages`, {
          method: "POST",
          headers: { "x-api-key": LOCAL_ANTHROPIC_API_KEY, "anthropic-version": "2023-06-01" },
          body: JSON.stringify({ model: "m", max_tokens: 8, tools, messages: [{ role: "user", content: "hi" }] }),
        }).then((response) => response.json() as Promise<{ content: Array<{ text: string }> }>);
      cloud.services.anthropic.enqueue({ text: "for the turn", withTools: true });
      expect((await ask([])).content[0]!.text).toBe("Done.");
      expect((await ask([{ name: "Read", input_schema: { type: "object" } }])).content[0]!.text).toBe("for the turn");
    } finally {
      await cloud.close();
    }
  });
});
