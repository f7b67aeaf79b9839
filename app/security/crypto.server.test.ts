import { describe, expect, it } from "vitest";
import { generateKeys } from "../../scripts/keys.mjs";
import { currentKeyVersion, decrypt, DecryptionError, encrypt } from "./crypto.server";

const key = () => generateKeys().ENCRYPTION_KEY;

describe("secrets at rest", () => {
  it("round-trips, with a fresh IV each time and no plaintext in the output", async () => {
    const config = { ENCRYPTION_KEY: key() };
    const first = await encrypt(config, "hcloud-secret-token", "user-1");
    const second = await encrypt(config, "hcloud-secret-token", "user-1");
    expect(first.iv).not.toBe(second.iv);
    expect(first.ciphertext).not.toBe(second.ciphertext);
    expect(atob(first.iv)).toHaveLength(12);
    expect(JSON.stringify(first)).not.toContain("hcloud-secret-token");
    expect(await decrypt(config, first, "user-1")).toBe("hcloud-secret-token");
  });

  it("refuses a tampered ciphertext", async () => {
    const config = { ENCRYPTION_KEY: key() };
    const sealed = await encrypt(config, "secret", "user-1");
    const bytes = Uint8Array.from(atob(sealed.ciphertext), (char) => char.charCodeAt(0));
    bytes[0]! ^= 1;
    const tampered = { ...sealed, ciphertext: btoa(String.fromCharCode(...bytes)) };
    await expect(decrypt(config, tampered, "user-1")).rejects.toBeInstanceOf(DecryptionError);
  });

  it("refuses another user's id as additional data", async () => {
    const config = { ENCRYPTION_KEY: key() };
    const sealed = await encrypt(config, "secret", "user-1");
    await expect(decrypt(config, sealed, "user-2")).rejects.toThrow(/altered or belongs to another user/);
  });

  it("reads secrets written under the previous key after rotation, and writes with the new one", async () => {
    const oldKey = key();
    const sealed = await encrypt({ ENCRYPTION_KEY: oldKey }, "secret", "user-1");
    const rotated = { ENCRYPTION_KEY: key(), ENCRYPTION_KEY_PREVIOUS: oldKey };
    expect(await decrypt(rotated, sealed, "user-1")).toBe("secret");
    const resealed = await encrypt(rotated, "secret", "user-1");
    expect(resealed.keyVersion).toBe(await currentKeyVersion(rotated));
    expect(resealed.keyVersion).not.toBe(sealed.keyVersion);
    await expect(decrypt({ ENCRYPTION_KEY: rotated.ENCRYPTION_KEY }, sealed, "user-1")).rejects.toThrow(/key version/);
  });
});
