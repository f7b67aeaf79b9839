import { createECDH } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decryptPushMessage } from "../../scripts/local-cloud/push";
import type { LocalCloud } from "../../scripts/local-cloud/server";
import { startTestCloud } from "../../scripts/local-cloud/test-support";
import { base64url, encryptPushMessage, fromBase64url, sendPush, type VapidKeys } from "./web-push.server";

// RFC 8291 Appendix A: the worked example, byte for byte.
const rfc = {
  plaintext: "When I grow up, I want to be a watermelon",
  senderPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  senderPublic: "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  receiverPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  receiverPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  body:
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_" +
    "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

function vapidKeys(): VapidKeys {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return {
    publicKey: ecdh.getPublicKey().toString("base64url"),
    privateKey: ecdh.getPrivateKey().toString("base64url"),
    subject: "mailto:admin@example.com",
  };
}

describe("Web Push encryption (RFC 8291)", () => {
  it("matches the RFC's worked example byte for byte", async () => {
    const body = await encryptPushMessage(
      { p256dh: rfc.receiverPublic, auth: rfc.auth },
      new TextEncoder().encode(rfc.plaintext),
      {
        salt: fromBase64url(rfc.salt),
        senderKeys: { publicKey: fromBase64url(rfc.senderPublic), privateKey: fromBase64url(rfc.senderPrivate) },
      },
    );
    expect(base64url(body)).toBe(rfc.body);
  });

  it("makes a fresh key and salt per message that the receiver decrypts", async () => {
    const receiver = createECDH("prime256v1");
    receiver.generateKeys();
    const keys = {
      privateKey: receiver.getPrivateKey(),
      publicKey: receiver.getPublicKey(),
      auth: Buffer.alloc(16, 7),
    };
    const target = { p256dh: keys.publicKey.toString("base64url"), auth: keys.auth.toString("base64url") };
    const first = await encryptPushMessage(target, new TextEncoder().encode("hello"));
    const second = await encryptPushMessage(target, new TextEncoder().encode("hello"));
    expect(Buffer.from(first.subarray(0, 86)).equals(Buffer.from(second.subarray(0, 86)))).toBe(false);
    expect(decryptPushMessage(Buffer.from(first), keys).toString()).toBe("hello");
  });

  it("refuses a payload over one record", async () => {
    await expect(
      encryptPushMessage({ p256dh: rfc.receiverPublic, auth: rfc.auth }, new Uint8Array(3994)),
    ).rejects.toThrow(/at most 3993 bytes/);
  });
});

describe("sendPush against the local push service", () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startTestCloud();
  });
  afterAll(() => cloud.close());

  const subscribe = async (applicationServerKey?: string) => {
    const response = await fetch(`${cloud.url}/_local/push/subscriptions`, {
      method: "POST",
      body: JSON.stringify(applicationServerKey ? { application_server_key: applicationServerKey } : {}),
    });
    const json = (await response.json()) as { endpoint: string; keys: { p256dh: string; auth: string } };
    return { endpoint: json.endpoint, ...json.keys };
  };
  const messages = async () =>
    ((await (await fetch(`${cloud.url}/_local/push/messages`)).json()) as { messages: Array<Record<string, unknown>> })
      .messages;

  it("delivers a message the service checks for VAPID and decrypts", async () => {
    const vapid = vapidKeys();
    const target = await subscribe(vapid.publicKey);
    expect(await sendPush(target, { title: "Waiting for you" }, vapid, { topic: "perm1" })).toEqual({ kind: "sent" });
    const message = (await messages()).at(-1);
    if (!message) throw new Error("the push service received nothing");
    expect(JSON.parse(message.payload as string)).toEqual({ title: "Waiting for you" });
    expect(message).toMatchObject({ urgency: "normal", topic: "perm1", ttl: 3600 });
    expect(message.vapid).toMatchObject({ aud: new URL(cloud.url).origin, sub: "mailto:admin@example.com" });
  });

  it("is refused when signed by another key than the subscription's applicationServerKey", async () => {
    const target = await subscribe(vapidKeys().publicKey);
    const outcome = await sendPush(target, { title: "x" }, vapidKeys());
    expect(outcome).toMatchObject({ kind: "failed", status: 403 });
  });

  it("sends no contact when the instance has none (a local, plain-http one)", async () => {
    const { subject: _, ...vapid } = vapidKeys();
    const target = await subscribe(vapid.publicKey);
    expect(await sendPush(target, { title: "x" }, vapid)).toEqual({ kind: "sent" });
    expect((await messages()).at(-1)?.vapid).toMatchObject({ sub: null });
  });

  it("reports a subscription that ended as gone", async () => {
    const vapid = vapidKeys();
    const target = await subscribe();
    await fetch(`${cloud.url}/_local/push/subscriptions/${target.endpoint.split("/").pop()}`, { method: "DELETE" });
    expect(await sendPush(target, { title: "x" }, vapid)).toEqual({ kind: "gone", status: 404 });
  });
});
