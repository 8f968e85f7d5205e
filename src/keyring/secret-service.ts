/*
 * The secret-service backend (freedesktop Secret Service over D-Bus: gnome-keyring, KeePassXC,
 * ksecretd), with aws-vault's layout so an existing aws-vault keyring is read as is:
 *
 *   collection  "awsvault" at /org/freedesktop/secrets/collection/awsvault (--secret-service-collection)
 *   item        label = key, attributes {"profile": key}, content type application/json,
 *               secret = the item JSON (file-format.ts encodeItem), written with replace=true
 *
 * Unlike aws-vault, a missing collection that cannot be created without a desktop prompt (a
 * headless gnome-keyring, where aws-vault fails with `Object does not exist at path "/"`) is not an
 * error: items go to the default collection (normally "login"), tagged with one more attribute
 * {"application": "aws-vault"} so that they are told apart from other programs' items, and the
 * backend says so through `notice`. Reads look in both collections, the aws-vault one first.
 *
 * The first half of this file is a small D-Bus client (wire protocol, EXTERNAL auth over a unix
 * socket, method calls, signals, and just enough of the service side for tests); kwallet.ts uses
 * it too. It is written here rather than taken from npm because the one pure-JS client
 * (dbus-next) pins old transitive dependencies and we need only a few calls.
 */
import { createConnection, type Socket } from "node:net";
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { KeyNotFoundError, KeyringError } from "../errors.ts";
import { goQuote } from "../util/go-format.ts";
import { decodeItem, encodeItem } from "./file-format.ts";
import type { ItemMetadata, Keyring, KeyringItem } from "./keyring.ts";
import { type CallClock, MAX_PROMPT_WAIT_MS } from "./timeout.ts";

// ---------------------------------------------------------------------------------------------
// D-Bus wire format (https://dbus.freedesktop.org/doc/dbus-specification.html)
// ---------------------------------------------------------------------------------------------

/** A D-Bus variant: a value together with its signature. */
export class Variant {
  constructor(
    readonly signature: string,
    readonly value: unknown,
  ) {}
}

/** An error reply from a peer (`name` is the D-Bus error name). */
export class DBusError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message || errorName);
    this.name = "DBusError";
  }
}

const ALIGN: Record<string, number> = {
  y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4, s: 4, o: 4, g: 1, a: 4, "(": 8, "{": 8, v: 1,
};

/** Index just past the single complete type starting at `i`. */
function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === undefined) throw new Error(`bad D-Bus signature ${sig}`);
  if (c === "a") return typeEnd(sig, i + 1);
  if (c === "(" || c === "{") {
    const close = c === "(" ? ")" : "}";
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new Error(`bad D-Bus signature ${sig}`);
      j = typeEnd(sig, j);
    }
    return j + 1;
  }
  if (!(c in ALIGN)) throw new Error(`bad D-Bus signature ${sig}`);
  return i + 1;
}

/** Splits a signature into its complete types: "sa{sv}b" -> ["s", "a{sv}", "b"]. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < sig.length; ) {
    const end = typeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

class Writer {
  #buf = Buffer.alloc(256);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  align(n: number): void {
    const pad = (n - (this.#len % n)) % n;
    this.#ensure(pad);
    this.#buf.fill(0, this.#len, this.#len + pad);
    this.#len += pad;
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  u8(v: number): void {
    this.#ensure(1);
    this.#buf.writeUInt8(v, this.#len);
    this.#len += 1;
  }

  u32(v: number): void {
    this.align(4);
    this.#ensure(4);
    this.#buf.writeUInt32LE(v, this.#len);
    this.#len += 4;
  }

  patchU32(at: number, v: number): void {
    this.#buf.writeUInt32LE(v, at);
  }

  value(sig: string, v: unknown): void {
    const c = sig[0];
    switch (c) {
      case "y":
        return this.u8(Number(v));
      case "b":
        return this.u32(v ? 1 : 0);
      case "n":
      case "q":
        this.align(2);
        this.#ensure(2);
        if (c === "n") this.#buf.writeInt16LE(Number(v), this.#len);
        else this.#buf.writeUInt16LE(Number(v), this.#len);
        this.#len += 2;
        return;
      case "i":
      case "h":
        this.align(4);
        this.#ensure(4);
        this.#buf.writeInt32LE(Number(v), this.#len);
        this.#len += 4;
        return;
      case "u":
        return this.u32(Number(v));
      case "x":
      case "t":
        this.align(8);
        this.#ensure(8);
        if (c === "x") this.#buf.writeBigInt64LE(BigInt(v as bigint | number), this.#len);
        else this.#buf.writeBigUInt64LE(BigInt(v as bigint | number), this.#len);
        this.#len += 8;
        return;
      case "d":
        this.align(8);
        this.#ensure(8);
        this.#buf.writeDoubleLE(Number(v), this.#len);
        this.#len += 8;
        return;
      case "s":
      case "o": {
        const b = Buffer.from(String(v), "utf8");
        this.u32(b.length);
        this.bytes(b);
        return this.u8(0);
      }
      case "g": {
        const b = Buffer.from(String(v), "utf8");
        this.u8(b.length);
        this.bytes(b);
        return this.u8(0);
      }
      case "v": {
        const variant = v as Variant;
        this.value("g", variant.signature);
        return this.value(variant.signature, variant.value);
      }
      case "(": {
        this.align(8);
        const fields = splitSignature(sig.slice(1, -1));
        const values = v as unknown[];
        fields.forEach((f, i) => this.value(f, values[i]));
        return;
      }
      case "a": {
        const elem = sig.slice(1);
        this.u32(0);
        const lenAt = this.#len - 4;
        this.align(ALIGN[elem[0] as string] ?? 1);
        const start = this.#len;
        if (elem === "y") {
          this.bytes(v as Uint8Array);
        } else if (elem[0] === "{") {
          const [k, val] = splitSignature(elem.slice(1, -1)) as [string, string];
          for (const [key, value] of v as Array<[unknown, unknown]>) {
            this.align(8);
            this.value(k, key);
            this.value(val, value);
          }
        } else {
          for (const item of v as unknown[]) this.value(elem, item);
        }
        this.patchU32(lenAt, this.#len - start);
        return;
      }
      default:
        throw new Error(`cannot write D-Bus type ${sig}`);
    }
  }

  result(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    readonly le: boolean,
    start = 0,
    /** Alignment is relative to the message start; `base` is where this buffer sits in it. */
    readonly base = 0,
  ) {
    this.pos = start;
  }

  align(n: number): void {
    const abs = this.base + this.pos;
    this.pos += (n - (abs % n)) % n;
  }

  #need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error("truncated D-Bus message");
  }

  u8(): number {
    this.#need(1);
    return this.buf.readUInt8(this.pos++);
  }

  u32(): number {
    this.align(4);
    this.#need(4);
    const v = this.le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  value(sig: string): unknown {
    const c = sig[0];
    const le = this.le;
    switch (c) {
      case "y":
        return this.u8();
      case "b":
        return this.u32() !== 0;
      case "n":
      case "q": {
        this.align(2);
        this.#need(2);
        const v =
          c === "n"
            ? le ? this.buf.readInt16LE(this.pos) : this.buf.readInt16BE(this.pos)
            : le ? this.buf.readUInt16LE(this.pos) : this.buf.readUInt16BE(this.pos);
        this.pos += 2;
        return v;
      }
      case "i":
      case "h": {
        this.align(4);
        this.#need(4);
        const v = le ? this.buf.readInt32LE(this.pos) : this.buf.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case "u":
        return this.u32();
      case "x":
      case "t": {
        this.align(8);
        this.#need(8);
        const v =
          c === "x"
            ? le ? this.buf.readBigInt64LE(this.pos) : this.buf.readBigInt64BE(this.pos)
            : le ? this.buf.readBigUInt64LE(this.pos) : this.buf.readBigUInt64BE(this.pos);
        this.pos += 8;
        return v;
      }
      case "d": {
        this.align(8);
        this.#need(8);
        const v = le ? this.buf.readDoubleLE(this.pos) : this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case "s":
      case "o": {
        const len = this.u32();
        this.#need(len + 1);
        const s = this.buf.toString("utf8", this.pos, this.pos + len);
        this.pos += len + 1;
        return s;
      }
      case "g": {
        const len = this.u8();
        this.#need(len + 1);
        const s = this.buf.toString("utf8", this.pos, this.pos + len);
        this.pos += len + 1;
        return s;
      }
      case "v": {
        const s = this.value("g") as string;
        return new Variant(s, this.value(s));
      }
      case "(": {
        this.align(8);
        return splitSignature(sig.slice(1, -1)).map((f) => this.value(f));
      }
      case "a": {
        const len = this.u32();
        const elem = sig.slice(1);
        this.align(ALIGN[elem[0] as string] ?? 1);
        const end = this.pos + len;
        this.#need(len);
        if (elem === "y") {
          const out = new Uint8Array(this.buf.subarray(this.pos, end));
          this.pos = end;
          return out;
        }
        const out: unknown[] = [];
        if (elem[0] === "{") {
          const [k, val] = splitSignature(elem.slice(1, -1)) as [string, string];
          while (this.pos < end) {
            this.align(8);
            out.push([this.value(k), this.value(val)]);
          }
        } else {
          while (this.pos < end) out.push(this.value(elem));
        }
        return out;
      }
      default:
        throw new Error(`cannot read D-Bus type ${sig}`);
    }
  }
}

const enum MessageType {
  MethodCall = 1,
  MethodReturn = 2,
  Error = 3,
  Signal = 4,
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;

export interface DBusMessage {
  type: number;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body: unknown[];
}

export function encodeMessage(m: Omit<DBusMessage, "body"> & { body?: unknown[] }): Buffer {
  const body = new Writer();
  const sig = m.signature ?? "";
  const types = splitSignature(sig);
  types.forEach((t, i) => body.value(t, m.body?.[i]));
  const fields: Array<[number, Variant]> = [];
  if (m.path !== undefined) fields.push([FIELD.path, new Variant("o", m.path)]);
  if (m.interface !== undefined) fields.push([FIELD.interface, new Variant("s", m.interface)]);
  if (m.member !== undefined) fields.push([FIELD.member, new Variant("s", m.member)]);
  if (m.errorName !== undefined) fields.push([FIELD.errorName, new Variant("s", m.errorName)]);
  if (m.replySerial !== undefined) fields.push([FIELD.replySerial, new Variant("u", m.replySerial)]);
  if (m.destination !== undefined) fields.push([FIELD.destination, new Variant("s", m.destination)]);
  if (sig) fields.push([FIELD.signature, new Variant("g", sig)]);
  const head = new Writer();
  head.u8("l".charCodeAt(0));
  head.u8(m.type);
  head.u8(m.flags);
  head.u8(1);
  head.u32(body.length);
  head.u32(m.serial);
  head.value("a(yv)", fields);
  head.align(8);
  return Buffer.concat([head.result(), body.result()]);
}

/** The total length of the message at the start of `buf`, or undefined if more bytes are needed. */
function messageLength(buf: Buffer): number | undefined {
  if (buf.length < 16) return undefined;
  const le = buf[0] === 0x6c;
  const bodyLen = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLen = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const headerLen = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
  return headerLen + bodyLen;
}

export function decodeMessage(buf: Buffer): DBusMessage {
  const le = buf[0] === 0x6c;
  if (!le && buf[0] !== 0x42) throw new Error("bad D-Bus message endianness");
  const r = new Reader(buf, le, 0);
  r.pos = 1;
  const type = r.u8();
  const flags = r.u8();
  r.u8(); // protocol version
  const bodyLen = r.u32();
  const serial = r.u32();
  const fields = r.value("a(yv)") as Array<[number, Variant]>;
  r.align(8);
  const m: DBusMessage = { type, flags, serial, body: [] };
  for (const [code, v] of fields) {
    const val = v.value;
    if (code === FIELD.path) m.path = val as string;
    else if (code === FIELD.interface) m.interface = val as string;
    else if (code === FIELD.member) m.member = val as string;
    else if (code === FIELD.errorName) m.errorName = val as string;
    else if (code === FIELD.replySerial) m.replySerial = val as number;
    else if (code === FIELD.destination) m.destination = val as string;
    else if (code === FIELD.sender) m.sender = val as string;
    else if (code === FIELD.signature) m.signature = val as string;
  }
  const bodyStart = r.pos;
  const body = new Reader(buf.subarray(bodyStart, bodyStart + bodyLen), le, 0, 0);
  m.body = splitSignature(m.signature ?? "").map((t) => body.value(t));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------------------------

/**
 * The session bus address: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus when that socket
 * exists (the systemd user bus). Undefined when there is no session bus to talk to.
 */
export function sessionBusAddress(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const fromEnv = env.DBUS_SESSION_BUS_ADDRESS;
  if (fromEnv) return fromEnv;
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && existsSync(join(runtime, "bus"))) return `unix:path=${join(runtime, "bus")}`;
  return undefined;
}

/** The socket paths of a D-Bus address list (`unix:path=` and Linux `unix:abstract=` only). */
export function socketPaths(address: string): string[] {
  const out: string[] = [];
  for (const entry of address.split(";")) {
    const colon = entry.indexOf(":");
    if (colon < 0 || entry.slice(0, colon) !== "unix") continue;
    const params = new Map<string, string>();
    for (const kv of entry.slice(colon + 1).split(",")) {
      const eq = kv.indexOf("=");
      if (eq > 0) params.set(kv.slice(0, eq), decodeURIComponent(kv.slice(eq + 1)));
    }
    const path = params.get("path");
    const abstract = params.get("abstract");
    if (path) out.push(path);
    else if (abstract) out.push(`\0${abstract}`);
  }
  return out;
}

export interface CallOptions {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

type MethodHandler = (m: DBusMessage) => Promise<{ signature?: string; body?: unknown[] }> | undefined;

export class DBusConnection {
  readonly #socket: Socket;
  #serial = 0;
  #buf: Buffer = Buffer.alloc(0);
  #busy = 0;
  #closed: Error | undefined;
  readonly #pending = new Map<number, { resolve: (m: DBusMessage) => void; reject: (e: Error) => void }>();
  readonly #signalHandlers = new Set<(m: DBusMessage) => void>();
  #methodHandler: MethodHandler | undefined;
  uniqueName = "";

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (d: Buffer) => this.#onData(d));
    socket.on("error", (e) => this.#fail(e));
    socket.on("close", () => this.#fail(new Error("the D-Bus connection was closed")));
    socket.unref();
  }

  /** Connects to the first address that accepts us, authenticates (EXTERNAL) and says Hello. */
  static async connect(address: string): Promise<DBusConnection> {
    const paths = socketPaths(address);
    if (paths.length === 0) throw new Error(`unsupported D-Bus address ${address}`);
    let last: unknown;
    for (const path of paths) {
      try {
        const socket = await authenticate(path);
        const conn = new DBusConnection(socket);
        const [name] = await conn.call({
          destination: "org.freedesktop.DBus",
          path: "/org/freedesktop/DBus",
          interface: "org.freedesktop.DBus",
          member: "Hello",
        });
        conn.uniqueName = String(name);
        return conn;
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  #hold(): void {
    if (this.#busy++ === 0) this.#socket.ref();
  }

  #release(): void {
    if (--this.#busy === 0) this.#socket.unref();
  }

  /** Keeps the process alive while `work` runs (e.g. waiting for a signal). */
  async held<T>(work: () => Promise<T>): Promise<T> {
    this.#hold();
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  #fail(e: Error): void {
    if (this.#closed) return;
    this.#closed = e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    for (;;) {
      const len = messageLength(this.#buf);
      if (len === undefined || this.#buf.length < len) return;
      const raw = this.#buf.subarray(0, len);
      this.#buf = this.#buf.subarray(len);
      let m: DBusMessage;
      try {
        m = decodeMessage(raw);
      } catch (e) {
        this.#fail(e as Error);
        this.#socket.destroy();
        return;
      }
      this.#dispatch(m);
    }
  }

  #dispatch(m: DBusMessage): void {
    if (m.type === MessageType.MethodReturn || m.type === MessageType.Error) {
      const p = m.replySerial === undefined ? undefined : this.#pending.get(m.replySerial);
      if (!p) return;
      this.#pending.delete(m.replySerial as number);
      if (m.type === MessageType.Error) p.reject(new DBusError(m.errorName ?? "error", String(m.body[0] ?? "")));
      else p.resolve(m);
    } else if (m.type === MessageType.Signal) {
      for (const h of this.#signalHandlers) h(m);
    } else if (m.type === MessageType.MethodCall) {
      void this.#answer(m);
    }
  }

  async #answer(m: DBusMessage): Promise<void> {
    const noReply = (m.flags & 1) !== 0;
    const reply = (r: Omit<DBusMessage, "serial" | "flags" | "body"> & { body?: unknown[] }) => {
      if (noReply || this.#closed) return;
      this.#socket.write(encodeMessage({ ...r, flags: 1, serial: ++this.#serial, replySerial: m.serial, destination: m.sender }));
    };
    try {
      const out = this.#methodHandler?.(m);
      if (!out) {
        reply({ type: MessageType.Error, errorName: "org.freedesktop.DBus.Error.UnknownMethod", signature: "s", body: [`no method ${m.interface}.${m.member}`] });
        return;
      }
      const r = await out;
      reply({ type: MessageType.MethodReturn, ...r });
    } catch (e) {
      const name = e instanceof DBusError ? e.errorName : "org.freedesktop.DBus.Error.Failed";
      reply({ type: MessageType.Error, errorName: name, signature: "s", body: [(e as Error).message] });
    }
  }

  call(o: CallOptions): Promise<unknown[]> {
    if (this.#closed) return Promise.reject(this.#closed);
    const serial = ++this.#serial;
    const msg = encodeMessage({ type: MessageType.MethodCall, flags: 0, serial, ...o });
    this.#hold();
    return new Promise<DBusMessage>((resolve, reject) => {
      this.#pending.set(serial, { resolve, reject });
      this.#socket.write(msg);
    })
      .then((m) => m.body)
      .finally(() => this.#release());
  }

  /** Subscribes to signals (AddMatch on the bus, then a local filter). Returns an unsubscribe function. */
  async subscribe(
    match: { path?: string; interface: string; member: string },
    handler: (m: DBusMessage) => void,
  ): Promise<() => void> {
    const rule = [`type='signal'`, `interface='${match.interface}'`, `member='${match.member}'`]
      .concat(match.path ? [`path='${match.path}'`] : [])
      .join(",");
    const filter = (m: DBusMessage) => {
      if (m.interface === match.interface && m.member === match.member && (!match.path || m.path === match.path)) handler(m);
    };
    this.#signalHandlers.add(filter);
    await this.call({ ...BUS, member: "AddMatch", signature: "s", body: [rule] });
    return () => {
      this.#signalHandlers.delete(filter);
      void this.call({ ...BUS, member: "RemoveMatch", signature: "s", body: [rule] }).catch(() => undefined);
    };
  }

  /** Answers incoming method calls (tests use it to play a daemon); return undefined for "no such method". */
  serve(handler: MethodHandler): void {
    this.#methodHandler = handler;
    this.#socket.ref();
  }

  async requestName(name: string): Promise<void> {
    const [result] = await this.call({ ...BUS, member: "RequestName", signature: "su", body: [name, 4] });
    if (result !== 1 && result !== 4) throw new Error(`could not own the D-Bus name ${name} (${String(result)})`);
  }

  close(): void {
    this.#fail(new Error("the D-Bus connection was closed"));
    this.#socket.destroy();
  }
}

const BUS = { destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus" };

function authenticate(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    let got = "";
    const onError = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    socket.once("error", onError);
    socket.on("connect", () => {
      const uid = String(userInfo().uid);
      socket.write(`\0AUTH EXTERNAL ${Buffer.from(uid, "ascii").toString("hex")}\r\n`);
    });
    const onData = (d: Buffer) => {
      got += d.toString("latin1");
      const end = got.indexOf("\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.off("error", onError);
      const line = got.slice(0, end);
      if (!line.startsWith("OK ")) {
        socket.destroy();
        reject(new Error(`D-Bus authentication failed: ${line}`));
        return;
      }
      socket.write("BEGIN\r\n");
      resolve(socket);
    };
    socket.on("data", onData);
  });
}

/** Reads one property (org.freedesktop.DBus.Properties.Get) and unwraps the variant. */
export async function getProperty(conn: DBusConnection, destination: string, path: string, iface: string, name: string): Promise<unknown> {
  const [v] = await conn.call({
    destination,
    path,
    interface: "org.freedesktop.DBus.Properties",
    member: "Get",
    signature: "ss",
    body: [iface, name],
  });
  return v instanceof Variant ? v.value : v;
}

// ---------------------------------------------------------------------------------------------
// The Secret Service backend
// ---------------------------------------------------------------------------------------------

const SECRETS = "org.freedesktop.secrets";
const SERVICE_PATH = "/org/freedesktop/secrets";
const COLLECTION_PREFIX = `${SERVICE_PATH}/collection/`;
const I_SERVICE = "org.freedesktop.Secret.Service";
const I_COLLECTION = "org.freedesktop.Secret.Collection";
const I_ITEM = "org.freedesktop.Secret.Item";
const I_PROMPT = "org.freedesktop.Secret.Prompt";
/** Marks our items in a collection shared with other programs (the fallback collection). */
export const FALLBACK_MARK: readonly [string, string] = ["application", "aws-vault"];

/** gnome-keyring escapes collection names in object paths as `_XX` (hex); aws-vault decodes them so. */
export function decodeObjectPathName(src: string): string {
  let out = "";
  for (let i = 0; i < src.length; i++) {
    if (src[i] !== "_") {
      out += src[i];
      continue;
    }
    const hex = src.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return src;
    out += String.fromCharCode(parseInt(hex, 16));
    i += 2;
  }
  return out;
}

/** The collection name shown to users: the decoded last path segment ("login", "awsvault"). */
export function collectionName(path: string): string {
  return decodeObjectPathName(path.startsWith(COLLECTION_PREFIX) ? path.slice(COLLECTION_PREFIX.length) : path);
}

export interface SecretServiceOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** The aws-vault collection (--secret-service-collection, default "awsvault"). */
  collection: string;
  /** Tells the user something they should know (where an item went). */
  notice?: (message: string) => void;
  log?: (message: string) => void;
  /** Stops the call timeout while a desktop prompt is open. */
  clock?: CallClock;
  /** Connects to the bus (tests may inject); default: the session bus from env. */
  connect?: () => Promise<DBusConnection>;
}

interface Located {
  path: string;
  collection: string;
}

export class SecretServiceKeyring implements Keyring {
  readonly backend = "secret-service";
  readonly #opts: SecretServiceOptions;
  #conn: Promise<{ conn: DBusConnection; session: string }> | undefined;
  /** Where each key was last seen or written, for describeLocation. */
  readonly #placed = new Map<string, string>();
  #noticeGiven = false;

  constructor(opts: SecretServiceOptions) {
    this.#opts = opts;
  }

  /** Connects and opens a session; fails clearly when no Secret Service answers. */
  async open(): Promise<void> {
    await this.#connection();
  }

  close(): void {
    void this.#conn?.then(({ conn }) => conn.close()).catch(() => undefined);
    this.#conn = undefined;
  }

  describeLocation(key: string): string {
    return `secret-service collection ${goQuote(this.#placed.get(key) ?? this.#opts.collection)}`;
  }

  #connection(): Promise<{ conn: DBusConnection; session: string }> {
    this.#conn ??= (async () => {
      const connect =
        this.#opts.connect ??
        (() => {
          const address = sessionBusAddress(this.#opts.env);
          if (!address) {
            throw new KeyringError("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)", {
              hints: ["the secret-service backend needs a desktop session or a dbus-daemon; try --backend=file"],
            });
          }
          return DBusConnection.connect(address);
        });
      let conn: DBusConnection;
      try {
        conn = await connect();
      } catch (e) {
        if (e instanceof KeyringError) throw e;
        throw new KeyringError(`cannot connect to the D-Bus session bus: ${(e as Error).message}`, { cause: e });
      }
      try {
        const [, session] = await conn.call({
          destination: SECRETS,
          path: SERVICE_PATH,
          interface: I_SERVICE,
          member: "OpenSession",
          signature: "sv",
          body: ["plain", new Variant("s", "")],
        });
        return { conn, session: String(session) };
      } catch (e) {
        conn.close();
        throw new KeyringError(`no Secret Service answers on the session bus: ${(e as Error).message}`, {
          hints: ["start gnome-keyring-daemon (or another Secret Service provider), or try --backend=file"],
          cause: e,
        });
      }
    })();
    this.#conn.catch(() => {
      this.#conn = undefined;
    });
    return this.#conn;
  }

  async #call(o: Omit<CallOptions, "destination">): Promise<unknown[]> {
    const { conn } = await this.#connection();
    try {
      return await conn.call({ destination: SECRETS, ...o });
    } catch (e) {
      if (e instanceof DBusError) {
        throw new KeyringError(`secret-service ${o.member} failed: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }

  async #prop(path: string, iface: string, name: string): Promise<unknown> {
    const { conn } = await this.#connection();
    return getProperty(conn, SECRETS, path, iface, name);
  }

  /** The aws-vault collection's path, if it exists (matched like aws-vault: decoded path). */
  async #ownCollection(): Promise<string | undefined> {
    const paths = (await this.#prop(SERVICE_PATH, I_SERVICE, "Collections")) as string[];
    const want = `${COLLECTION_PREFIX}${this.#opts.collection}`;
    return paths.find((p) => decodeObjectPathName(p) === want || p === want);
  }

  /** The default collection (alias "default"), when there is one other than the aws-vault collection. */
  async #fallbackCollection(own: string | undefined): Promise<string | undefined> {
    const [path] = await this.#call({ path: SERVICE_PATH, interface: I_SERVICE, member: "ReadAlias", signature: "s", body: ["default"] });
    const p = String(path);
    if (p === "/" || p === own) return undefined;
    return p;
  }

  /** The collections to read, aws-vault's first, each with the attributes that find our items in it. */
  async #readable(): Promise<Array<{ path: string; marked: boolean }>> {
    const own = await this.#ownCollection();
    const fallback = await this.#fallbackCollection(own);
    const out: Array<{ path: string; marked: boolean }> = [];
    if (own) out.push({ path: own, marked: false });
    if (fallback) out.push({ path: fallback, marked: true });
    return out;
  }

  async #search(collection: string, attrs: Array<[string, string]>): Promise<string[]> {
    const [items] = await this.#call({ path: collection, interface: I_COLLECTION, member: "SearchItems", signature: "a{ss}", body: [attrs] });
    return (items as string[]).filter((p) => p !== "/");
  }

  async #find(key: string): Promise<Located[]> {
    const found: Located[] = [];
    for (const c of await this.#readable()) {
      const attrs: Array<[string, string]> = [["profile", key]];
      if (c.marked) attrs.push([...FALLBACK_MARK]);
      for (const path of await this.#search(c.path, attrs)) found.push({ path, collection: collectionName(c.path) });
    }
    return found;
  }

  /** Runs a Secret Service prompt (unlock or create) and returns its result, or undefined if dismissed. */
  async #prompt(promptPath: string, what: string): Promise<Variant | undefined> {
    const { conn } = await this.#connection();
    const dismiss = () =>
      conn.call({ destination: SECRETS, path: promptPath, interface: I_PROMPT, member: "Dismiss" }).catch(() => undefined);
    if (!this.#opts.env.DISPLAY && !this.#opts.env.WAYLAND_DISPLAY) {
      this.#opts.log?.(`[secret-service] ${what} needs a desktop prompt, and there is no display: not asking`);
      await dismiss();
      return undefined;
    }
    const run = () =>
      conn.held(
        () =>
          new Promise<Variant | undefined>((resolve, reject) => {
            let unsubscribe: (() => void) | undefined;
            const timer = setTimeout(() => {
              unsubscribe?.();
              void dismiss();
              resolve(undefined);
            }, MAX_PROMPT_WAIT_MS);
            conn
              .subscribe({ path: promptPath, interface: I_PROMPT, member: "Completed" }, (m) => {
                clearTimeout(timer);
                unsubscribe?.();
                const [dismissed, result] = m.body as [boolean, Variant];
                resolve(dismissed ? undefined : result);
              })
              .then((u) => {
                unsubscribe = u;
                return conn.call({ destination: SECRETS, path: promptPath, interface: I_PROMPT, member: "Prompt", signature: "s", body: [""] });
              })
              .catch((e: unknown) => {
                clearTimeout(timer);
                unsubscribe?.();
                reject(e instanceof Error ? e : new Error(String(e)));
              });
          }),
      );
    this.#opts.log?.(`[secret-service] ${what}: waiting for the desktop prompt`);
    return this.#opts.clock ? this.#opts.clock.whileUserAnswers(run) : run();
  }

  async #ensureUnlocked(paths: string[], iface: string, what: string): Promise<void> {
    const locked: string[] = [];
    for (const p of paths) if ((await this.#prop(p, iface, "Locked")) === true) locked.push(p);
    if (locked.length === 0) return;
    const [, prompt] = await this.#call({ path: SERVICE_PATH, interface: I_SERVICE, member: "Unlock", signature: "ao", body: [locked] });
    if (String(prompt) === "/") return;
    if ((await this.#prompt(String(prompt), `unlocking ${what}`)) === undefined) {
      throw new KeyringError(`the secret-service ${what} is locked`, {
        hints: ["unlock it (for example in Seahorse, or with gnome-keyring-daemon --unlock) and try again, or use --backend=file"],
      });
    }
  }

  async get(key: string): Promise<KeyringItem> {
    const [hit] = await this.#find(key);
    if (!hit) throw new KeyNotFoundError(key);
    await this.#ensureUnlocked([hit.path], I_ITEM, `collection ${goQuote(hit.collection)}`);
    const { session } = await this.#connection();
    const [secret] = await this.#call({ path: hit.path, interface: I_ITEM, member: "GetSecret", signature: "o", body: [session] });
    const [, , value] = secret as [string, Uint8Array, Uint8Array, string];
    this.#placed.set(key, hit.collection);
    return decodeItem(value, `secret-service item ${goQuote(key)}`);
  }

  async getMetadata(key: string): Promise<ItemMetadata> {
    const [hit] = await this.#find(key);
    if (!hit) throw new KeyNotFoundError(key);
    const modified = await this.#prop(hit.path, I_ITEM, "Modified").catch(() => undefined);
    return typeof modified === "bigint" && modified > 0n ? { modificationTime: new Date(Number(modified) * 1000) } : {};
  }

  /** Creates the aws-vault collection if the service allows it without a prompt (or the user accepts one). */
  async #createOwnCollection(): Promise<string | undefined> {
    const label = new Variant("s", this.#opts.collection);
    let collection: string;
    let prompt: string;
    try {
      const out = await this.#call({
        path: SERVICE_PATH,
        interface: I_SERVICE,
        member: "CreateCollection",
        signature: "a{sv}s",
        body: [[[`${I_COLLECTION}.Label`, label]], ""],
      });
      [collection, prompt] = out.map(String) as [string, string];
    } catch (e) {
      this.#opts.log?.(`[secret-service] cannot create collection ${this.#opts.collection}: ${(e as Error).message}`);
      return undefined;
    }
    if (prompt === "/") return collection !== "/" ? collection : undefined;
    const result = await this.#prompt(prompt, `creating collection ${goQuote(this.#opts.collection)}`);
    const path = result ? String(result.value) : "/";
    return path !== "/" ? path : undefined;
  }

  async set(item: KeyringItem): Promise<void> {
    let own = await this.#ownCollection();
    let found: string | undefined = own;
    let marked = false;
    if (!own) {
      const fallback = await this.#fallbackCollection(undefined);
      // Once our items live in the fallback collection, don't ask to create the collection again.
      const settled = fallback ? (await this.#search(fallback, [[...FALLBACK_MARK]])).length > 0 : false;
      if (!settled) own = await this.#createOwnCollection();
      found = own ?? fallback;
      marked = !own;
    }
    if (!found) {
      throw new KeyringError(`the secret-service collection ${goQuote(this.#opts.collection)} does not exist and cannot be created`, {
        hints: ["create it (for example in Seahorse), or try --backend=file"],
      });
    }
    const target: string = found;
    await this.#ensureUnlocked([target], I_COLLECTION, `collection ${goQuote(collectionName(target))}`);
    const { session } = await this.#connection();
    const attrs: Array<[string, string]> = [["profile", item.key]];
    if (marked) attrs.push([...FALLBACK_MARK]);
    await this.#call({
      path: target,
      interface: I_COLLECTION,
      member: "CreateItem",
      signature: "a{sv}(oayays)b",
      body: [
        [
          [`${I_ITEM}.Label`, new Variant("s", item.key)],
          [`${I_ITEM}.Attributes`, new Variant("a{ss}", attrs)],
        ],
        [session, new Uint8Array(), new TextEncoder().encode(encodeItem(item)), "application/json"],
        true,
      ],
    });
    const where = collectionName(target);
    this.#placed.set(item.key, where);
    if (marked) {
      const why = `collection ${goQuote(this.#opts.collection)} does not exist and cannot be created without a desktop prompt`;
      // Caches aws-vault manages itself (sessions, OIDC tokens) carry a description; users' own
      // credentials do not. Tell the user about the latter, once per process.
      if (!item.description && !this.#noticeGiven) {
        this.#noticeGiven = true;
        this.#opts.notice?.(`stored in secret-service collection ${goQuote(where)} (${why})`);
      } else {
        this.#opts.log?.(`[secret-service] stored ${item.key} in collection ${where} (${why})`);
      }
    } else if (own) {
      // A copy left in the fallback collection from before the aws-vault collection existed is stale.
      const fallback = await this.#fallbackCollection(own);
      if (fallback) {
        for (const stale of await this.#search(fallback, [["profile", item.key], [...FALLBACK_MARK]])) {
          await this.#call({ path: stale, interface: I_ITEM, member: "Delete" }).catch(() => undefined);
        }
      }
    }
  }

  async remove(key: string): Promise<void> {
    const hits = await this.#find(key);
    if (hits.length === 0) throw new KeyNotFoundError(key);
    for (const hit of hits) {
      const [prompt] = await this.#call({ path: hit.path, interface: I_ITEM, member: "Delete" });
      if (String(prompt) !== "/" && (await this.#prompt(String(prompt), `deleting ${goQuote(key)}`)) === undefined) {
        throw new KeyringError(`the secret-service item ${goQuote(key)} was not deleted (the prompt was dismissed)`);
      }
    }
    this.#placed.delete(key);
  }

  async keys(): Promise<string[]> {
    const keys = new Set<string>();
    for (const c of await this.#readable()) {
      if (!c.marked) {
        // aws-vault lists the labels of every item in its collection.
        await this.#ensureUnlocked([c.path], I_COLLECTION, `collection ${goQuote(collectionName(c.path))}`);
        const items = (await this.#prop(c.path, I_COLLECTION, "Items")) as string[];
        for (const p of items) {
          const label = await this.#prop(p, I_ITEM, "Label").catch(() => undefined);
          if (typeof label === "string") keys.add(label);
        }
      } else {
        for (const p of await this.#search(c.path, [[...FALLBACK_MARK]])) {
          const attrs = (await this.#prop(p, I_ITEM, "Attributes").catch(() => [])) as Array<[string, string]>;
          const profile = attrs.find(([k]) => k === "profile")?.[1];
          if (profile !== undefined) keys.add(profile);
        }
      }
    }
    return [...keys].sort();
  }
}
