// Issue 12: "either a profile is stored and verified, or it is untouched": a store whose read-back
// differs from what was written (a keyring that loses bytes) must leave the vault as it was.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MemoryKeyring } from "../../src/keyring/memory.ts";
import type { KeyringItem } from "../../src/keyring/keyring.ts";
import { Secret } from "../../src/util/secret.ts";
import { CredentialStore } from "../../src/vault/credential-store.ts";
import { importCredentials } from "../../src/vault/import.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

/** A keyring that, once armed, drops the last byte of the first item written under each key. */
class LossyKeyring extends MemoryKeyring {
  armed = false;
  readonly #lost = new Set<string>();
  override async set(item: KeyringItem): Promise<void> {
    const lose = this.armed && !this.#lost.has(item.key);
    if (lose) this.#lost.add(item.key);
    await super.set(lose ? { ...item, data: item.data.slice(0, -1) } : item);
  }
}

function setup(creds: string) {
  const home = mkdtempSync(join(tmpdir(), "awsv-import-verify-"));
  mkdirSync(join(home, ".aws"));
  const credentialsPath = join(home, ".aws", "credentials");
  const configPath = join(home, ".aws", "config");
  writeFileSync(credentialsPath, creds);
  const rt = fakeRuntime({ homedir: home, env: { AWS_VAULT_AUDIT: "off" } });
  const keyring = new LossyKeyring();
  const lines: string[] = [];
  return { rt, keyring, store: new CredentialStore(keyring), credentialsPath, configPath, lines, print: (l: string) => lines.push(l) };
}

describe("import: a copy that does not verify", () => {
  it("leaves a new profile out of the vault and an overwritten one as it was; the file keeps its keys", async () => {
    const creds = "[fresh]\naws_access_key_id = AKIAFRESH0000000000A\naws_secret_access_key = fresh-secret\n\n[old]\naws_access_key_id = AKIANEW00000000000AA\naws_secret_access_key = new-secret\n";
    const s = setup(creds);
    await s.store.set("old", { accessKeyId: "AKIAOLD00000000000AA", secretAccessKey: new Secret("old-secret") });
    s.keyring.armed = true;
    const summary = await importCredentials(s, { profiles: [], scrub: true, dryRun: false, overwrite: true });
    expect(summary).toMatchObject({ imported: 0, failed: 2, scrubbed: 0 });
    expect(await s.keyring.keys()).toEqual(["old"]);
    const old = await s.store.get("old");
    expect(old.accessKeyId).toBe("AKIAOLD00000000000AA");
    expect(old.secretAccessKey.reveal()).toBe("old-secret");
    expect(readFileSync(s.credentialsPath, "utf8")).toBe(creds);
  });
});
