/*
 * A small D-Bus client: the wire protocol, EXTERNAL auth over a unix socket, method calls, signals,
 * and just enough of the service side for tests. secret-service.ts and kwallet.ts use it. It is
 * written here rather than taken from npm because the one pure-JS client (dbus-next) pins old
 * transitive dependencies and we need only a few calls.
 */
import { createConnection, type Socket } from "node:net";
import { userInfo } from "node:os";

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
