// Private keyring daemons for tests: a session dbus-daemon with an unlocked gnome-keyring (the
// state of a fresh headless login: only the "login" collection exists), and a pass store with a
// freshly generated gpg key. Each lives in its own temp HOME and is removed by stop().
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DBusConnection } from "../../src/keyring/dbus.ts";

const live = new Set<ChildProcess>();
let hooked = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await gone;
  clearTimeout(timer);
}

/** Why a program cannot be used, or undefined when it is on PATH. */
export function missing(...programs: string[]): string | undefined {
  const absent = programs.filter((p) => spawnSync("sh", ["-c", `command -v ${p}`]).status !== 0);
  return absent.length ? `${absent.join(", ")} not installed (.ci/run installs them)` : undefined;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An item to pre-seed into a gnome-keyring collection file (plain-text keyring format). */
export interface SeedItem {
  label: string;
  attributes: Record<string, string>;
  secret: string;
}

export interface SecretServiceDaemon {
  /** HOME, XDG_* and DBUS_SESSION_BUS_ADDRESS for programs that should use this daemon. */
  env: Record<string, string>;
  home: string;
  keyringsDir: string;
  /** A D-Bus connection to the private bus (closed by stop()). */
  connect(): Promise<DBusConnection>;
  stop(): Promise<void>;
}

function plainKeyring(name: string, items: SeedItem[]): string {
  const lines = [`[keyring]`, `display-name=${name}`, `ctime=0`, `mtime=0`, `lock-on-idle=false`, `lock-after=false`, ``];
  items.forEach((item, i) => {
    const n = i + 1;
    lines.push(`[${n}]`, `item-type=0`, `display-name=${item.label}`, `secret=${item.secret}`, `mtime=0`, `ctime=0`, ``);
    Object.entries(item.attributes).forEach(([k, v], j) => {
      lines.push(`[${n}:attribute${j}]`, `name=${k}`, `type=string`, `value=${v}`, ``);
    });
  });
  return lines.join("\n");
}

/**
 * Starts `dbus-daemon` (no service activation, so nothing else starts behind our back) and
 * `gnome-keyring-daemon --unlock --components=secrets` with the login password on stdin.
 * `collections` pre-seeds unencrypted collections (e.g. an aws-vault "awsvault" collection).
 */
export async function startSecretService(opts: { collections?: Record<string, SeedItem[]> } = {}): Promise<SecretServiceDaemon> {
  const root = mkdtempSync(join(tmpdir(), "awsv-ss-"));
  const home = join(root, "home");
  const runtime = join(root, "run");
  const keyringsDir = join(home, ".local", "share", "keyrings");
  mkdirSync(keyringsDir, { recursive: true, mode: 0o700 });
  mkdirSync(runtime, { mode: 0o700 });
  chmodSync(runtime, 0o700);
  for (const [name, items] of Object.entries(opts.collections ?? {})) {
    writeFileSync(join(keyringsDir, `${name}.keyring`), plainKeyring(name, items), { mode: 0o600 });
  }
  const socket = join(runtime, "bus");
  const config = join(root, "bus.conf");
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
  };
  const bus = spawn("dbus-daemon", ["--config-file", config, "--nofork", "--print-address=1"], {
    env: baseEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  track(bus);
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    let err = "";
    bus.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    bus.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
    bus.once("exit", (code) => reject(new Error(`dbus-daemon exited (${String(code)}): ${err}`)));
    bus.once("error", reject);
  });
  const env = { ...baseEnv, DBUS_SESSION_BUS_ADDRESS: address };
  const keyring = spawn("gnome-keyring-daemon", ["--unlock", "--components=secrets", "--foreground"], {
    env,
    stdio: ["pipe", "ignore", "pipe"],
  });
  track(keyring);
  let keyringErr = "";
  keyring.stderr?.setEncoding("utf8").on("data", (d: string) => (keyringErr += d));
  // A daemon that dies before reading its password makes this write fail with EPIPE; the exit is
  // reported by the wait below, so the write error must not become an uncaught exception.
  keyring.stdin?.on("error", () => {});
  keyring.stdin?.end("login-password");
  const conns: DBusConnection[] = [];
  const connect = async () => {
    const c = await DBusConnection.connect(address);
    conns.push(c);
    return c;
  };
  const probe = await connect();
  try {
    await waitFor("gnome-keyring to own org.freedesktop.secrets", async () => {
      if (keyring.exitCode !== null) throw new Error(`gnome-keyring-daemon exited: ${keyringErr}`);
      const [owned] = await probe.call({
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member: "NameHasOwner",
        signature: "s",
        body: ["org.freedesktop.secrets"],
      });
      return owned === true;
    });
  } catch (e) {
    await Promise.all([stopChild(keyring), stopChild(bus)]);
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    env,
    home,
    keyringsDir,
    connect,
    async stop() {
      for (const c of conns) c.close();
      await stopChild(keyring);
      await stopChild(bus);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface PassStore {
  /** GNUPGHOME and PASSWORD_STORE_DIR (and a HOME) for pass. */
  env: Record<string, string>;
  dir: string;
  gnupgHome: string;
  fingerprint: string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: Record<string, string>, input?: string): string {
  const r = spawnSync(cmd, args, { env, input, encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${String(r.status)}): ${r.stderr}`);
  return r.stdout;
}

/** A pass store initialised for a new passphrase-less gpg key in a private GNUPGHOME. */
export async function startPassStore(): Promise<PassStore> {
  const root = mkdtempSync(join(tmpdir(), "awsv-pass-"));
  const gnupgHome = join(root, "g");
  const dir = join(root, "store");
  mkdirSync(gnupgHome, { mode: 0o700 });
  chmodSync(gnupgHome, 0o700);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: root,
    GNUPGHOME: gnupgHome,
    PASSWORD_STORE_DIR: dir,
  };
  const uid = `aws-vault test ${randomBytes(4).toString("hex")} <test@example.invalid>`;
  run("gpg", ["--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never"], env);
  const listing = run("gpg", ["--batch", "--with-colons", "--list-secret-keys", uid], env);
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(listing)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in gpg output: ${listing}`);
  run("pass", ["init", fingerprint], env);
  return {
    env,
    dir,
    gnupgHome,
    fingerprint,
    async stop() {
      spawnSync("gpgconf", ["--kill", "all"], { env });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Whether the kernel keyring can be used here: undefined if so, else the reason. */
export function keyctlUnavailable(): string | undefined {
  const why = missing("keyctl");
  if (why) return why;
  const name = `aws-vault-probe-${randomBytes(4).toString("hex")}`;
  const made = spawnSync("keyctl", ["newring", name, "@u"], { encoding: "utf8" });
  if (made.status !== 0) return `the kernel keyring is not usable here: keyctl newring: ${made.stderr.trim() || `exit ${String(made.status)}`}`;
  const id = made.stdout.trim();
  const put = spawnSync("keyctl", ["padd", "user", "probe", id], { input: "x", encoding: "utf8" });
  const read = put.status === 0 ? spawnSync("keyctl", ["pipe", put.stdout.trim()], { encoding: "utf8" }) : put;
  spawnSync("keyctl", ["unlink", id, "@u"]);
  if (read.status !== 0 || read.stdout !== "x") return `the kernel keyring is not usable here: ${read.stderr.trim() || "read-back failed"}`;
  return undefined;
}

/**
 * A stand-in for kwalletd5 on a private bus: the org.kde.KWallet calls aws-vault makes, with the
 * argument signatures of KWallet's D-Bus interface checked on every call, over an in-memory wallet.
 */
export async function serveFakeKWallet(conn: DBusConnection): Promise<{ wallets: Map<string, Map<string, Uint8Array>> }> {
  const wallets = new Map<string, Map<string, Uint8Array>>();
  const handles = new Map<number, string>();
  const expected: Record<string, [string, string]> = {
    isEnabled: ["", "b"],
    open: ["sxs", "i"],
    isOpen: ["i", "b"],
    hasFolder: ["iss", "b"],
    createFolder: ["iss", "b"],
    hasEntry: ["isss", "b"],
    readEntry: ["isss", "ay"],
    writeEntry: ["issays", "i"],
    removeEntry: ["isss", "i"],
    entryList: ["iss", "as"],
  };
  const folderKey = (folder: string, key: string) => `${folder}\0${key}`;
  conn.serve((m) => {
    if (m.path !== "/modules/kwalletd5" || m.interface !== "org.kde.KWallet" || !m.member) return undefined;
    const sig = expected[m.member];
    if (!sig) return undefined;
    if ((m.signature ?? "") !== sig[0]) return Promise.reject(new Error(`${m.member}: signature ${m.signature ?? ""}, expected ${sig[0]}`));
    const b = m.body;
    const wallet = () => {
      const name = handles.get(b[0] as number);
      if (name === undefined) throw new Error("bad handle");
      return wallets.get(name) as Map<string, Uint8Array>;
    };
    const reply = (value: unknown) => Promise.resolve({ signature: sig[1], body: [value] });
    switch (m.member) {
      case "isEnabled":
        return reply(true);
      case "open": {
        const name = b[0] as string;
        if (!wallets.has(name)) wallets.set(name, new Map());
        const h = handles.size + 1;
        handles.set(h, name);
        return reply(h);
      }
      case "isOpen":
        return reply(handles.has(b[0] as number));
      case "hasFolder":
        return reply([...wallet().keys()].some((k) => k.startsWith(`${b[1] as string}\0`)) || wallet().has(`${b[1] as string}\0`));
      case "createFolder":
        wallet().set(`${b[1] as string}\0`, new Uint8Array());
        return reply(true);
      case "hasEntry":
        return reply(wallet().has(folderKey(b[1] as string, b[2] as string)));
      case "readEntry":
        return reply(wallet().get(folderKey(b[1] as string, b[2] as string)) ?? new Uint8Array());
      case "writeEntry":
        wallet().set(folderKey(b[1] as string, b[2] as string), b[3] as Uint8Array);
        return reply(0);
      case "removeEntry":
        return reply(wallet().delete(folderKey(b[1] as string, b[2] as string)) ? 0 : -1);
      case "entryList": {
        const prefix = `${b[1] as string}\0`;
        return reply([...wallet().keys()].filter((k) => k.startsWith(prefix) && k !== prefix).map((k) => k.slice(prefix.length)));
      }
      default:
        return undefined;
    }
  });
  await conn.requestName("org.kde.kwalletd5");
  return { wallets };
}
