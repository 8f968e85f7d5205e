// The file keyring (file.ts) against damage, wrong passphrases, reserved names, stray files and
// interrupted writes. Real files in temp folders; the passphrase source and clock are injected.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeyNotFoundError, KeyringError, UserError, WrongPassphraseError } from "../../src/errors.ts";
import { DamagedItemError, looksLikeItem, pbes2Derivations } from "../../src/keyring/file-format.ts";
import { FileKeyring, fileKeyProblem, isOwnFileName, STALE_TEMP_MS, writeFileAtomic } from "../../src/keyring/file.ts";
import { newItem } from "../../src/keyring/keyring.ts";
import { Secret } from "../../src/util/secret.ts";
import { damageItem } from "../support/damage.ts";
import { failure } from "../support/failure.ts";

const PASS = "hardening passphrase";

interface Setup {
  dir: string;
  kr: FileKeyring;
  prompts: Array<{ message: string; confirm: boolean }>;
  logs: string[];
}

function setup(opts: { dir?: string; env?: string; answers?: string[]; now?: () => Date } = {}): Setup {
  const dir = opts.dir ?? join(mkdtempSync(join(tmpdir(), "awsv-hard-")), "keys");
  const prompts: Setup["prompts"] = [];
  const logs: string[] = [];
  const answers = [...(opts.answers ?? [])];
  const kr = new FileKeyring({
    dir,
    passphrase: {
      ...(opts.env === undefined ? {} : { fromEnv: new Secret(opts.env) }),
      prompt: async (message, { confirm }) => {
        prompts.push({ message, confirm });
        const a = answers.shift();
        if (a === undefined) throw new Error("no answer left");
        return new Secret(a);
      },
    },
    now: opts.now ?? (() => new Date()),
    random: (n) => new Uint8Array(randomBytes(n)),
    log: (m) => logs.push(m),
    p2c: 100,
  });
  return { dir, kr, prompts, logs };
}

const item = (key: string, data = `data of ${key}`) => newItem(key, new TextEncoder().encode(data), `aws-vault (${key})`);
const text = (d: Uint8Array) => new TextDecoder().decode(d);

/** A keyring with items a, b, c under PASS. */
async function filled(): Promise<string> {
  const { dir, kr } = setup({ env: PASS });
  for (const k of ["a", "b", "c"]) await kr.set(item(k));
  return dir;
}

describe("file keyring: damaged items", () => {
  it("names a damaged content with a remove/add hint; the other items read and write as before", async () => {
    const dir = await filled();
    damageItem(join(dir, "a"), 3);
    const { kr } = setup({ dir, env: PASS });
    const e = await failure(kr.get("a"));
    expect(e).toBeInstanceOf(DamagedItemError);
    expect(e.message).toBe(`item "a" in the file keyring is damaged: ${join(dir, "a")}: the content fails its integrity check`);
    expect((e as DamagedItemError).hints).toEqual([
      "the other items are not affected; remove this one with `aws-vault remove a`, then store it again with `aws-vault add a`",
    ]);
    expect(text((await kr.get("b")).data)).toBe("data of b");
    await kr.set(item("d"));
    expect(await kr.keys()).toEqual(["a", "b", "c", "d"]);
  });

  it("quotes a name for the shell in the hint", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("it's mine"));
    damageItem(join(dir, "it's mine"), 3);
    const e = (await failure(kr.get("it's mine"))) as DamagedItemError;
    expect(e.hints[0]).toContain("`aws-vault remove 'it'\\''s mine'`");
  });

  it("a key that does not unwrap is damage when the passphrase opens another item, else a wrong passphrase", async () => {
    const dir = await filled();
    damageItem(join(dir, "a"), 1);
    const right = setup({ dir, env: PASS });
    const e = await failure(right.kr.get("a"));
    expect(e).toBeInstanceOf(DamagedItemError);
    expect(e.message).toBe(
      `item "a" in the file keyring is damaged: ${join(dir, "a")}: its content key does not unwrap with the passphrase that opens the other items`,
    );
    expect((e as DamagedItemError).passphraseConfirmed).toBe(true);

    const wrong = setup({ dir, env: "nope" });
    const w = await failure(wrong.kr.get("a"));
    expect(w).toBeInstanceOf(WrongPassphraseError);
    expect(w.message).toBe(`wrong passphrase for the file keyring at ${dir}`);
    // Another item refused the passphrase too: no hint that the file may be damaged.
    expect((w as WrongPassphraseError).hints).toEqual(["check AWS_VAULT_FILE_PASSPHRASE, or the passphrase you typed"]);
  });

  it("with no other item to ask, a key that does not unwrap is reported as a wrong passphrase that may be damage", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("only"));
    writeFileSync(join(dir, "notes.txt"), "not an item");
    damageItem(join(dir, "only"), 1);
    const e = await failure(setup({ dir, env: PASS }).kr.get("only"));
    expect(e).toBeInstanceOf(WrongPassphraseError);
    expect((e as WrongPassphraseError).hints).toEqual([
      "check AWS_VAULT_FILE_PASSPHRASE, or the passphrase you typed",
      `if the passphrase is right, ${join(dir, "only")} is damaged (no other item could confirm the passphrase)`,
    ]);
  });

  it("asks other items past foreign and cut-short ones; one that opened earlier settles it at once", async () => {
    const dir = await filled();
    await setup({ dir, env: PASS }).kr.set(item("d"));
    damageItem(join(dir, "c"), 1);
    // "a" is cut short (says nothing about the passphrase), "b" is a foreign JWE, "d" opens.
    writeFileSync(join(dir, "a"), readFileSync(join(dir, "a"), "utf8").split(".").slice(0, 2).join("."));
    const foreign = readFileSync(join(dir, "b"), "utf8").split(".");
    foreign[0] = Buffer.from('{"alg":"RSA-OAEP","enc":"A256GCM"}').toString("base64url");
    writeFileSync(join(dir, "b"), foreign.join("."));
    const skipped = ["a", "b"].map((f) => `[keyring] skipping unreadable file ${join(dir, f)}`);
    const { kr: k1, logs } = setup({ dir, env: PASS });
    await k1.set(item("z"));
    expect(logs).toEqual(skipped);
    const { kr, logs: logs2 } = setup({ dir, env: PASS });
    expect(await failure(kr.get("c"))).toBeInstanceOf(DamagedItemError);
    expect(logs2).toEqual(skipped);
    // Once an item opened, the next damaged key is judged without asking the others again.
    const { kr: k3, logs: logs3 } = setup({ dir, env: PASS });
    await k3.get("z");
    expect(await failure(k3.get("c"))).toBeInstanceOf(DamagedItemError);
    expect(logs3).toEqual([]);
  });

  it("a cut-short item does not vouch for a passphrase; a damaged content behind a key that unwraps does", async () => {
    const dir = await filled();
    writeFileSync(join(dir, "a"), readFileSync(join(dir, "a"), "utf8").split(".").slice(0, 4).join("."));
    const e = await failure(setup({ dir, env: PASS }).kr.get("a"));
    expect(e).toBeInstanceOf(DamagedItemError);
    expect((e as DamagedItemError).passphraseConfirmed).toBe(false);
    // Wrong passphrase: "a" says nothing, "b" refuses it, so nothing is written.
    expect(await failure(setup({ dir, env: "nope" }).kr.set(item("new")))).toBeInstanceOf(WrongPassphraseError);
    expect(existsSync(join(dir, "new"))).toBe(false);

    const only = await filled();
    for (const k of ["b", "c"]) damageItem(join(only, k), 3);
    damageItem(join(only, "a"), 1);
    // "a" refuses, but "b" unwraps its key (then fails its content): the passphrase is right.
    const { kr } = setup({ dir: only, env: PASS });
    await kr.set(item("d"));
    expect(text((await kr.get("d")).data)).toBe("data of d");
  });

  it("a wrong passphrase for a write is refused even when a damaged item sorts first", async () => {
    const dir = await filled();
    damageItem(join(dir, "a"), 1);
    const e = await failure(setup({ dir, env: "nope" }).kr.set(item("x")));
    expect(e).toBeInstanceOf(WrongPassphraseError);
    expect(e.message).toBe(`wrong passphrase for the file keyring at ${dir}`);
    expect((e as WrongPassphraseError).hints).toEqual(["check AWS_VAULT_FILE_PASSPHRASE, or the passphrase you typed"]);
    expect(readdirSync(dir).sort()).toEqual(["a", "b", "c"]);
  });
});

describe("file keyring: a typed passphrase", () => {
  it("is asked once per process, and asked again after it proved wrong on a read", async () => {
    const dir = await filled();
    const { kr, prompts } = setup({ dir, answers: ["typo", PASS] });
    expect(await failure(kr.get("a"))).toBeInstanceOf(WrongPassphraseError);
    expect(text((await kr.get("a")).data)).toBe("data of a");
    expect(text((await kr.get("b")).data)).toBe("data of b");
    await kr.set(item("d"));
    expect(prompts).toEqual([
      { message: `Enter passphrase to unlock "${dir}": `, confirm: false },
      { message: `Enter passphrase to unlock "${dir}": `, confirm: false },
    ]);
  });

  it("is asked again after it proved wrong on a write", async () => {
    const dir = await filled();
    const { kr, prompts } = setup({ dir, answers: ["typo", PASS] });
    expect(await failure(kr.set(item("d")))).toBeInstanceOf(WrongPassphraseError);
    await kr.set(item("d"));
    expect(prompts).toHaveLength(2);
    expect(text((await setup({ dir, env: PASS }).kr.get("d")).data)).toBe("data of d");
  });

  it("a read that proved the passphrase spares the write its check", async () => {
    const dir = await filled();
    const { kr, prompts } = setup({ dir, answers: [PASS] });
    await kr.get("a");
    const before = pbes2Derivations();
    await kr.set(item("d"));
    // One derivation for the new item's own salt; none to check the passphrase again.
    expect(pbes2Derivations()).toBe(before + 1);
    expect(prompts).toHaveLength(1);
  });

  it("the environment's passphrase is never replaced by a prompt", async () => {
    const dir = await filled();
    const { kr, prompts } = setup({ dir, env: "nope", answers: [PASS] });
    expect(await failure(kr.get("a"))).toBeInstanceOf(WrongPassphraseError);
    expect(await failure(kr.get("a"))).toBeInstanceOf(WrongPassphraseError);
    expect(prompts).toEqual([]);
  });

  it("a new keyring asks with confirmation; stray files do not make it an existing one", async () => {
    const { dir, kr, prompts } = setup({ answers: [PASS] });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ".DS_Store"), "\u0000\u0000\u0000\u0001Bud1");
    await kr.set(item("first"));
    expect(prompts).toEqual([{ message: `Enter passphrase to unlock "${dir}": `, confirm: true }]);
  });

  it("reading an item a second time, or from a second keyring in the process, derives nothing", async () => {
    const dir = await filled();
    const { kr } = setup({ dir, env: PASS });
    const before = pbes2Derivations();
    await kr.get("a");
    await kr.get("a");
    await setup({ dir, env: PASS }).kr.get("a");
    expect(pbes2Derivations()).toBe(before);
  });
});

describe("file keyring: names", () => {
  it("reserves the keyring's own files and refuses names that leave its folder", () => {
    expect(fileKeyProblem("")).toBe("the name is empty");
    expect(fileKeyProblem(".")).toBe("the name is a folder");
    expect(fileKeyProblem("..")).toBe("the name is a folder");
    expect(fileKeyProblem("a\u0000b")).toBe("the name contains a NUL character");
    const reserved = "names starting with .aws-vault-lock or .aws-vault-tmp- are reserved for the keyring's own files";
    for (const n of [".aws-vault-lock", ".aws-vault-lock.break", ".aws-vault-lock.x", ".aws-vault-tmp-", ".aws-vault-tmp-0a"]) {
      expect(fileKeyProblem(n), n).toBe(reserved);
    }
    expect(fileKeyProblem("x".repeat(255))).toBeUndefined();
    expect(fileKeyProblem("x".repeat(256))).toBe("the file name would be longer than 255 bytes");
    // Bytes of the encoded name count: "/" becomes "%2F", "é" two bytes.
    expect(fileKeyProblem("/".repeat(85))).toBeUndefined();
    expect(fileKeyProblem("/".repeat(86))).toBe("the file name would be longer than 255 bytes");
    expect(fileKeyProblem("é".repeat(128))).toBe("the file name would be longer than 255 bytes");
    for (const n of ["../x", "./x", "a/../..", ".aws-vault-", ".aws-vault-lockx", ".aws-vault-mine", "...", ".aws-vault-tmp"]) {
      expect(fileKeyProblem(n), n).toBeUndefined();
    }
    expect(isOwnFileName(".aws-vault-lock")).toBe(true);
    expect(isOwnFileName(".aws-vault-lockx")).toBe(false);
    expect(isOwnFileName("x.aws-vault-tmp-1")).toBe(false);
  });

  it("refuses them for writes with a clear error, and treats them as absent elsewhere", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("keep"));
    const parent = join(dir, "..");
    const before = { keys: readdirSync(dir).sort(), parent: readdirSync(parent).sort() };
    for (const n of ["", ".", "..", ".aws-vault-lock", ".aws-vault-tmp-1"]) {
      const e = await failure(kr.set(item(n)));
      expect(e).toBeInstanceOf(KeyringError);
      expect(e.message).toBe(`cannot store ${JSON.stringify(n)} in the file keyring at ${dir}: ${fileKeyProblem(n)}`);
      expect((e as KeyringError).hints).toEqual(["choose another profile name"]);
      expect(() => kr.checkKey(n)).toThrow(e.message);
      for (const op of [kr.get(n), kr.remove(n), kr.getMetadata(n)]) expect(await failure(op)).toBeInstanceOf(KeyNotFoundError);
    }
    expect(() => kr.checkKey("fine")).not.toThrow();
    expect({ keys: readdirSync(dir).sort(), parent: readdirSync(parent).sort() }).toEqual(before);
  });

  it("stores, lists and reads names that look like ours but are not reserved", async () => {
    const { kr } = setup({ env: PASS });
    for (const n of [".aws-vault-mine", "../up", "a%2Fb"]) await kr.set(item(n));
    // In the order of their file names: "..%2Fup", ".aws-vault-mine", "a%252Fb".
    expect(await kr.keys()).toEqual(["../up", ".aws-vault-mine", "a%2Fb"]);
    for (const n of [".aws-vault-mine", "../up", "a%2Fb"]) expect(text((await kr.get(n)).data)).toBe(`data of ${n}`);
  });
});

describe("file keyring: the folder's other files", () => {
  it("lists items only: not stray files, folders, the lock, its break guard or temp files", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("real"));
    writeFileSync(join(dir, "notes.txt"), "notes");
    writeFileSync(join(dir, ".DS_Store"), "\u0000\u0000\u0000\u0001Bud1");
    writeFileSync(join(dir, "empty"), "");
    const jweShaped = readFileSync(join(dir, "real"), "utf8");
    for (const own of [".aws-vault-lock", ".aws-vault-lock.break", ".aws-vault-tmp-0011"]) writeFileSync(join(dir, own), jweShaped);
    mkdirSync(join(dir, "folder"));
    writeFileSync(join(dir, "cut"), jweShaped.split(".")[0] + ".");
    expect(await kr.keys()).toEqual(["cut", "real"]);
  });

  it("judges a file by its start as looksLikeItem judges its whole text (read in part or whole)", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("real"));
    const [h, ...rest] = readFileSync(join(dir, "real"), "utf8").split(".");
    const longHeader = Buffer.from(`{"alg":"x","pad":"${"a".repeat(5000)}"}`).toString("base64url");
    const files: Record<string, string> = {
      spaced: ` \n\t${h}.${rest.join(".")}`,
      bom: `\uFEFF${h}.x`,
      "long-header": `${longHeader}.x`,
      "long-garbage": `${"A".repeat(5000)}.x`,
      "no-dot": h as string,
      "non-ascii": `${h}\u00e9.x`,
      "dot-first": `.${h}`,
      "pad-only": `${" ".repeat(5000)}${h}.x`,
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const expected = Object.keys(files).filter((n) => looksLikeItem(files[n] as string));
    expect(expected.sort()).toEqual(["bom", "long-header", "pad-only", "spaced"]);
    expect(await kr.keys()).toEqual([...expected, "real"].sort());
  });

  it("sees a stray file that becomes an item, and an item that becomes a stray file", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("real"));
    writeFileSync(join(dir, "later"), "not yet");
    expect(await kr.keys()).toEqual(["real"]);
    writeFileSync(join(dir, "later"), readFileSync(join(dir, "real"), "utf8"));
    expect(await kr.keys()).toEqual(["later", "real"]);
    writeFileSync(join(dir, "real"), "overwritten by hand");
    expect(await kr.keys()).toEqual(["later"]);
  });

  it("keeps listing a file it cannot read, and reports why it cannot be read", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("real"));
    mkdirSync(join(dir, "sub"));
    const e = await failure(kr.get("sub"));
    expect(e).toBeInstanceOf(KeyringError);
    expect(e).not.toBeInstanceOf(KeyNotFoundError);
    expect(e.message).toMatch(new RegExp(`^cannot read ${join(dir, "sub")}: EISDIR`));
    const rmE = await failure(kr.remove("sub"));
    expect(rmE).toBeInstanceOf(KeyringError);
    expect(rmE).not.toBeInstanceOf(KeyNotFoundError);
    expect(rmE.message).toMatch(new RegExp(`^cannot remove ${join(dir, "sub")}: `));
    expect(existsSync(join(dir, "sub"))).toBe(true);
  });

  it("reports a keys folder that is a file, for reads, metadata, listing and writes", async () => {
    const base = mkdtempSync(join(tmpdir(), "awsv-hard-"));
    const dir = join(base, "keys");
    writeFileSync(dir, "a file");
    const { kr } = setup({ dir, env: PASS });
    const get = await failure(kr.get("x"));
    expect(get).not.toBeInstanceOf(KeyNotFoundError);
    expect(get.message).toMatch(new RegExp(`^cannot read ${join(dir, "x")}: ENOTDIR`));
    const meta = await failure(kr.getMetadata("x"));
    expect(meta).toBeInstanceOf(KeyringError);
    expect(meta).not.toBeInstanceOf(KeyNotFoundError);
    expect(meta.message).toMatch(new RegExp(`^cannot read ${join(dir, "x")}: ENOTDIR`));
    const keys = await failure(kr.keys());
    expect(keys).toBeInstanceOf(KeyringError);
    expect(keys.message).toMatch(new RegExp(`^cannot list ${dir}: ENOTDIR`));
    const set = await failure(kr.set(item("x")));
    expect(set).toEqual(new KeyringError(`${dir} is a file, not a directory`));
  });

  it("metadata: the modification time of an item, not found for a missing one", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("m"));
    const when = new Date("2026-01-02T03:04:05Z");
    utimesSync(join(dir, "m"), when, when);
    expect(await kr.getMetadata("m")).toEqual({ modificationTime: when });
    expect(await failure(kr.getMetadata("none"))).toBeInstanceOf(KeyNotFoundError);
    expect(await kr.keys()).toEqual(["m"]);
    expect(await setup({ dir: join(dir, "missing"), env: PASS }).kr.keys()).toEqual([]);
  });
});

describe("file keyring: interrupted writes", () => {
  it("the next write removes our temp files older than a few minutes, and nothing else", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const { dir, kr, logs } = setup({ env: PASS, now: () => now });
    await kr.set(item("first"));
    const at = (ms: number) => new Date(now.getTime() - ms);
    const files: Array<[string, Date]> = [
      [".aws-vault-tmp-old", at(STALE_TEMP_MS + 1000)],
      [".aws-vault-tmp-edge", at(STALE_TEMP_MS)],
      [".aws-vault-tmp-new", at(1000)],
      ["old-stray", at(STALE_TEMP_MS * 10)],
      [".aws-vault-lock.break", at(STALE_TEMP_MS * 10)],
    ];
    for (const [name, when] of files) {
      writeFileSync(join(dir, name), "x");
      utimesSync(join(dir, name), when, when);
    }
    mkdirSync(join(dir, ".aws-vault-tmp-folder"));
    utimesSync(join(dir, ".aws-vault-tmp-folder"), at(STALE_TEMP_MS * 10), at(STALE_TEMP_MS * 10));
    await kr.set(item("second"));
    expect(readdirSync(dir).sort()).toEqual(
      [".aws-vault-lock.break", ".aws-vault-tmp-edge", ".aws-vault-tmp-folder", ".aws-vault-tmp-new", "first", "old-stray", "second"].sort(),
    );
    expect(logs).toEqual([`[keyring] removed ${join(dir, ".aws-vault-tmp-old")}, left by an interrupted write`]);
    expect(STALE_TEMP_MS).toBe(5 * 60 * 1000);
  });

  it("writes atomically: 0600 files, no temp file left, a failed rename reported by path", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("x"));
    expect(readdirSync(dir)).toEqual(["x"]);
    const target = join(dir, "busy");
    mkdirSync(target);
    writeFileSync(join(target, "inside"), "keeps the folder non-empty");
    const e = await failure(writeFileAtomic(target, "content", (n) => new Uint8Array(randomBytes(n))));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(new RegExp(`^cannot write ${target}: `));
    expect(readdirSync(dir).sort()).toEqual(["busy", "x"]);
  });
});

describe("file keyring: what a passphrase check remembers", () => {
  /** Items written under another passphrase, for swapping in behind a keyring's back. */
  async function foreignItems(keys: string[]): Promise<string> {
    const { dir, kr } = setup({ env: "another passphrase" });
    for (const k of keys) await kr.set(item(k));
    return dir;
  }

  it("a write checks the passphrase once per process", async () => {
    const dir = await filled();
    const { kr } = setup({ dir, env: PASS });
    await kr.set(item("d"));
    const other = await foreignItems(["a", "b", "c", "d"]);
    for (const k of ["a", "b", "c", "d"]) writeFileSync(join(dir, k), readFileSync(join(other, k)));
    await kr.set(item("e"));
    // A keyring opened now checks, and finds the swapped items refuse the passphrase.
    expect(await failure(setup({ dir, env: PASS }).kr.get("a"))).toBeInstanceOf(WrongPassphraseError);
  });

  it("an item whose key unwrapped proves the passphrase for later damage; a cut-short one proves nothing", async () => {
    const dir = await filled();
    await setup({ dir, env: PASS }).kr.set(item("d"));
    // a: foreign (logged when asked), b: damaged content, c: damaged key, d: fine.
    const foreign = readFileSync(join(dir, "a"), "utf8").split(".");
    foreign[0] = Buffer.from('{"alg":"RSA-OAEP","enc":"A256GCM"}').toString("base64url");
    writeFileSync(join(dir, "a"), foreign.join("."));
    damageItem(join(dir, "b"), 3);
    damageItem(join(dir, "c"), 1);
    const { kr, logs } = setup({ dir, env: PASS });
    expect(await failure(kr.get("b"))).toBeInstanceOf(DamagedItemError);
    expect(await failure(kr.get("c"))).toBeInstanceOf(DamagedItemError);
    expect(logs).toEqual([]);
    // Without that proof the other items are asked: "a" is skipped, "b" unwraps.
    const fresh = setup({ dir, env: PASS });
    const e = await failure(fresh.kr.get("c"));
    expect(e).toBeInstanceOf(DamagedItemError);
    expect((e as DamagedItemError).passphraseConfirmed).toBe(true);
    expect(fresh.logs).toEqual([`[keyring] skipping unreadable file ${join(dir, "a")}`]);
    // A judged damage is remembered too: the next damaged key asks nobody.
    damageItem(join(dir, "d"), 1);
    expect(await failure(fresh.kr.get("d"))).toBeInstanceOf(DamagedItemError);
    expect(fresh.logs).toHaveLength(1);
  });

  it("a cut-short item read under a wrong passphrase leaves the passphrase unproven", async () => {
    const dir = await filled();
    writeFileSync(join(dir, "a"), readFileSync(join(dir, "a"), "utf8").split(".").slice(0, 2).join("."));
    const { kr } = setup({ dir, env: "nope" });
    const cut = await failure(kr.get("a"));
    expect(cut).toBeInstanceOf(DamagedItemError);
    expect((cut as DamagedItemError).passphraseConfirmed).toBe(false);
    expect(await failure(kr.get("b"))).toBeInstanceOf(WrongPassphraseError);
  });
});

describe("file keyring: odds and ends", () => {
  it("needs a folder, and says which backend and folder it is", () => {
    expect(() => setup({ dir: "" })).toThrow(new KeyringError("No directory provided for file keyring"));
    const { dir, kr } = setup({ env: PASS });
    expect(kr.dir).toBe(dir);
    expect(kr.backend).toBe("file");
    expect(kr.describeLocation("a/b")).toBe(join(dir, "a%2Fb"));
  });

  it("creates missing parent folders 0700 on the first write", async () => {
    const base = mkdtempSync(join(tmpdir(), "awsv-hard-"));
    const dir = join(base, "one", "two", "keys");
    const { kr } = setup({ dir, env: PASS });
    await kr.set(item("x"));
    expect(readdirSync(dir)).toEqual(["x"]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "x")).mode & 0o777).toBe(0o600);
  });

  it("works without a logger when it skips files and cleans up", async () => {
    const dir = await filled();
    writeFileSync(join(dir, "zz-foreign"), `${Buffer.from('{"alg":"none"}').toString("base64url")}.x.y.z.w`);
    const stale = join(dir, ".aws-vault-tmp-stale");
    writeFileSync(stale, "x");
    utimesSync(stale, new Date(0), new Date(0));
    damageItem(join(dir, "a"), 1);
    const kr = new FileKeyring({
      dir,
      passphrase: { fromEnv: new Secret(PASS), prompt: async () => new Secret(PASS) },
      now: () => new Date(),
      random: (n) => new Uint8Array(randomBytes(n)),
    });
    expect(await failure(kr.get("a"))).toBeInstanceOf(DamagedItemError);
    damageItem(join(dir, "b"), 1);
    damageItem(join(dir, "c"), 1);
    const lone = new FileKeyring({
      dir,
      passphrase: { fromEnv: new Secret(PASS), prompt: async () => new Secret(PASS) },
      now: () => new Date(),
      random: (n) => new Uint8Array(randomBytes(n)),
    });
    // Every key refuses and "zz-foreign" is skipped: a wrong passphrase as far as anyone can tell.
    expect(await failure(lone.set(item("d")))).toBeInstanceOf(WrongPassphraseError);
    expect(await failure(lone.get("a"))).toBeInstanceOf(WrongPassphraseError);
    expect(existsSync(stale)).toBe(false);
  });

  it("lists in file name order whatever order the folder returns", async () => {
    const { kr } = setup({ env: PASS });
    const names = ["m", "c", "x", "a", "q", "b", "z", "k", "e", "t"];
    for (const n of names) await kr.set(item(n));
    expect(await kr.keys()).toEqual([...names].sort());
  });

  it("hints with the name as a shell word", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("team/dev-1.x"));
    damageItem(join(dir, "team%2Fdev-1.x"), 3);
    const e = (await failure(kr.get("team/dev-1.x"))) as DamagedItemError;
    expect(e.hints).toEqual([
      "the other items are not affected; remove this one with `aws-vault remove team/dev-1.x`, then store it again with `aws-vault add team/dev-1.x`",
    ]);
  });

  it("keeps the system error as the cause of what it reports", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("real"));
    mkdirSync(join(dir, "sub"));
    expect((await failure(kr.get("sub"))).cause).toMatchObject({ code: "EISDIR" });
    expect((await failure(kr.remove("sub"))).cause).toMatchObject({ code: expect.stringMatching(/EISDIR|ERR_FS_EISDIR/) });
    const file = join(mkdtempSync(join(tmpdir(), "awsv-hard-")), "keys");
    writeFileSync(file, "");
    const inFile = setup({ dir: file, env: PASS }).kr;
    expect((await failure(inFile.getMetadata("x"))).cause).toMatchObject({ code: "ENOTDIR" });
    expect((await failure(inFile.keys())).cause).toMatchObject({ code: "ENOTDIR" });
    mkdirSync(join(dir, "busy"));
    writeFileSync(join(dir, "busy", "f"), "");
    expect((await failure(writeFileAtomic(join(dir, "busy"), "x", (n) => new Uint8Array(randomBytes(n))))).cause).toMatchObject({
      code: expect.stringMatching(/^E/),
    });
  });

  it("notices a file replaced by an item of the same size and time, or changed in size or time only", async () => {
    const { dir, kr } = setup({ env: PASS });
    await kr.set(item("real"));
    const jwe = readFileSync(join(dir, "real"), "utf8");
    const when = new Date("2026-05-05T05:05:05Z");
    const put = (name: string, content: string, how: "rename" | "inplace") => {
      const target = join(dir, name);
      if (how === "rename") {
        const tmp = join(dir, "..", `swap-${name}`);
        writeFileSync(tmp, content);
        utimesSync(tmp, when, when);
        renameSync(tmp, target);
      } else {
        writeFileSync(target, content);
        utimesSync(target, when, when);
      }
    };
    // Another inode only.
    put("ino", "z".repeat(jwe.length), "inplace");
    expect(await kr.keys()).toEqual(["real"]);
    put("ino", jwe, "rename");
    expect(await kr.keys()).toEqual(["ino", "real"]);
    // Another size only (same inode, same time).
    put("size", "z".repeat(jwe.length), "inplace");
    expect(await kr.keys()).toEqual(["ino", "real"]);
    put("size", `${jwe}\n`, "inplace");
    expect(await kr.keys()).toEqual(["ino", "real", "size"]);
    // Another time only (same inode, same size).
    put("time", "z".repeat(jwe.length), "inplace");
    expect(await kr.keys()).toEqual(["ino", "real", "size"]);
    writeFileSync(join(dir, "time"), jwe);
    const later = new Date(when.getTime() + 5000);
    utimesSync(join(dir, "time"), later, later);
    expect(await kr.keys()).toEqual(["ino", "real", "size", "time"]);
  });
});
