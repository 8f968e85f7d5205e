import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keyMetadataPath, readKeyRecords, recordKeyCreated, recordKeyStored, rotateAfter, rotationReminder, storedKeyAges } from "../../src/vault/key-age.ts";
import { CredentialStore } from "../../src/vault/credential-store.ts";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import { Secret } from "../../src/util/secret.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

const DAY = 86_400_000;

function home(): string {
  return mkdtempSync(join(tmpdir(), "awsv-age-"));
}

describe("key age records", () => {
  it("records a stored key without its id or secret, 0600, and keeps history for an identical re-store", async () => {
    const h = home();
    const rt = fakeRuntime({ homedir: h, now: new Date("2026-01-01T00:00:00Z") });
    await recordKeyStored(rt, "dev", "AKIAABCDEFGHIJKLMNOP");
    rt.advance(5 * DAY);
    await recordKeyStored(rt, "dev", "AKIAABCDEFGHIJKLMNOP");
    const text = readFileSync(keyMetadataPath(h), "utf8");
    expect(text).not.toContain("AKIAABCDEFGHIJKLMNOP");
    expect(statSync(keyMetadataPath(h)).mode & 0o777).toBe(0o600);
    expect((await readKeyRecords(h)).dev?.storedAt).toBe("2026-01-01T00:00:00.000Z");
    // IAM's creation date is learned for the same key only
    await recordKeyCreated(rt, "dev", "AKIAOTHEROTHEROTHER0", new Date("2025-01-01T00:00:00Z"));
    expect((await readKeyRecords(h)).dev?.createdAt).toBeUndefined();
    await recordKeyCreated(rt, "dev", "AKIAABCDEFGHIJKLMNOP", new Date("2025-01-01T00:00:00Z"));
    expect((await readKeyRecords(h)).dev?.createdAt).toBe("2025-01-01T00:00:00.000Z");
  });

  it("AWS_VAULT_ROTATE_AFTER: default 90d, off, other durations", () => {
    expect(rotateAfter({}).ms).toBe(90 * DAY);
    expect(rotateAfter({ AWS_VAULT_ROTATE_AFTER: "off" }).ms).toBeUndefined();
    expect(rotateAfter({ AWS_VAULT_ROTATE_AFTER: "30d" }).ms).toBe(30 * DAY);
    expect(rotateAfter({ AWS_VAULT_ROTATE_AFTER: "soon" })).toEqual({ ms: 90 * DAY, invalid: "soon" });
  });

  it("reminds once per day for an old key, never for a fresh one", async () => {
    const h = home();
    const rt = fakeRuntime({ homedir: h, now: new Date("2026-01-01T00:00:00Z") });
    await recordKeyStored(rt, "old", "AKIAOLDOLDOLDOLDOLD1");
    rt.advance(100 * DAY);
    await recordKeyStored(rt, "fresh", "AKIAFRESHFRESHFRESH1");
    expect(await rotationReminder(rt, ["fresh"])).toBeUndefined();
    const first = await rotationReminder(rt, ["role", "old"]);
    expect(first).toMatch(/profile 'old' is 100 days old; rotate it with `aws-vault rotate old`/);
    expect(await rotationReminder(rt, ["old"])).toBeUndefined();
    rt.advance(23 * 3600 * 1000);
    expect(await rotationReminder(rt, ["old"])).toBeUndefined();
    rt.advance(2 * 3600 * 1000);
    expect(await rotationReminder(rt, ["old"])).toMatch(/is 101 days old/);
    rt.advance(2 * DAY);
    expect(await rotationReminder(fakeRuntime({ homedir: h, now: rt.now(), env: { AWS_VAULT_ROTATE_AFTER: "off" } }), ["old"])).toBeUndefined();
  });

  it("ages of stored keys: a record that no longer matches the key falls back to the item's time", async () => {
    const h = home();
    const rt = fakeRuntime({ homedir: h, now: new Date("2026-01-01T00:00:00Z") });
    const keyring = new MemoryKeyring();
    const store = new CredentialStore(keyring);
    await store.set("a", { accessKeyId: "AKIAAAAAAAAAAAAAAAA1", secretAccessKey: new Secret("s1") });
    await store.set("b", { accessKeyId: "AKIABBBBBBBBBBBBBBB1", secretAccessKey: new Secret("s2") });
    await recordKeyStored(rt, "a", "AKIAAAAAAAAAAAAAAAA1", { createdAt: new Date("2025-10-01T00:00:00Z") });
    await recordKeyStored(rt, "b", "AKIAOTHER00000000000");
    const ages = await storedKeyAges(rt, store);
    expect(ages.find((a) => a.profile === "a")).toMatchObject({ basis: "created", ageMs: 92 * DAY });
    expect(ages.find((a) => a.profile === "b")?.basis).not.toBe("stored");
  });
});
