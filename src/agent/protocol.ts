/*
 * The agent protocol: the only place its wire format is defined.
 *
 * Transport: a Unix socket (0600, in a 0700 folder: see paths.ts). One request per connection: the
 * client writes one JSON object and a newline; the agent answers with one JSON object and a
 * newline, then closes. Every message carries `v` (PROTOCOL_VERSION); an agent refuses any other
 * version with an error reply, so a newer client talking to an older agent fails clearly.
 *
 * Bounds: a message is at most MAX_MESSAGE_BYTES; the agent gives a client REQUEST_TIMEOUT_MS to
 * send its request. Oversized, late, malformed or unknown requests get an error reply and never
 * crash or hang the agent.
 *
 * The passphrase travels in exactly one message, `unlock`, from client to agent. No reply ever
 * holds it: clients get items, not the passphrase.
 */
import type { KeyringItem } from "../keyring/keyring.ts";

export const PROTOCOL_VERSION = 1;
export const MAX_MESSAGE_BYTES = 1024 * 1024;
export const REQUEST_TIMEOUT_MS = 5_000;

export interface WireItem {
  key: string;
  /** base64 */
  data: string;
  label: string;
  description: string;
  keychainNotTrustApplication: boolean;
  keychainNotSynchronizable: boolean;
}

export type AgentRequest =
  | { op: "status" }
  | { op: "unlock"; dir: string; passphrase: string; ttlMs: number; idleMs: number }
  | { op: "lock" }
  | { op: "stop" }
  | { op: "get"; dir: string; key: string }
  | { op: "set"; dir: string; item: WireItem };

export interface AgentStatus {
  pid: number;
  unlocked: boolean;
  dir?: string;
  ttlLeftMs?: number;
  idleLeftMs?: number;
}

/** Why a request failed: `locked` also means "unlocked, but for another keys folder". */
export type ErrorCode = "locked" | "not-found" | "wrong-passphrase" | "bad-request" | "error";

export type AgentResponse =
  | { ok: true; status?: AgentStatus; item?: WireItem }
  | { ok: false; code: ErrorCode; message: string; hints?: string[] };

export class ProtocolError extends Error {}

export function toWire(item: KeyringItem): WireItem {
  return {
    key: item.key,
    data: Buffer.from(item.data).toString("base64"),
    label: item.label,
    description: item.description,
    keychainNotTrustApplication: item.keychainNotTrustApplication,
    keychainNotSynchronizable: item.keychainNotSynchronizable,
  };
}

export function fromWire(w: WireItem): KeyringItem {
  return {
    key: w.key,
    data: new Uint8Array(Buffer.from(w.data, "base64")),
    label: w.label,
    description: w.description,
    keychainNotTrustApplication: w.keychainNotTrustApplication,
    keychainNotSynchronizable: w.keychainNotSynchronizable,
  };
}

export function encodeMessage(m: AgentRequest | AgentResponse): string {
  const line = `${JSON.stringify({ v: PROTOCOL_VERSION, ...m })}\n`;
  if (Buffer.byteLength(line) > MAX_MESSAGE_BYTES) throw new ProtocolError("message too large for the agent protocol");
  return line;
}

function object(line: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new ProtocolError("malformed message (not JSON)");
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new ProtocolError("malformed message (not an object)");
  const o = raw as Record<string, unknown>;
  if (o.v !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported protocol version ${JSON.stringify(o.v)} (this agent speaks ${PROTOCOL_VERSION})`);
  return o;
}

function str(o: Record<string, unknown>, name: string): string {
  const v = o[name];
  if (typeof v !== "string") throw new ProtocolError(`malformed request: ${name} must be a string`);
  return v;
}

function duration(o: Record<string, unknown>, name: string): number {
  const v = o[name];
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v > 366 * 24 * 3600 * 1000) {
    throw new ProtocolError(`malformed request: ${name} must be a positive number of milliseconds`);
  }
  return v;
}

function bool(o: Record<string, unknown>, name: string): boolean {
  const v = o[name];
  if (typeof v !== "boolean") throw new ProtocolError(`malformed item: ${name} must be a boolean`);
  return v;
}

function wireItem(v: unknown): WireItem {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new ProtocolError("malformed item");
  const o = v as Record<string, unknown>;
  const data = str(o, "data");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new ProtocolError("malformed item: data must be base64");
  return {
    key: str(o, "key"),
    data,
    label: str(o, "label"),
    description: str(o, "description"),
    keychainNotTrustApplication: bool(o, "keychainNotTrustApplication"),
    keychainNotSynchronizable: bool(o, "keychainNotSynchronizable"),
  };
}

/** Parses and validates one request line; throws ProtocolError with a message fit for the reply. */
export function parseRequest(line: string): AgentRequest {
  const o = object(line);
  switch (o.op) {
    case "status":
    case "lock":
    case "stop":
      return { op: o.op };
    case "unlock":
      return { op: "unlock", dir: str(o, "dir"), passphrase: str(o, "passphrase"), ttlMs: duration(o, "ttlMs"), idleMs: duration(o, "idleMs") };
    case "get":
      return { op: "get", dir: str(o, "dir"), key: str(o, "key") };
    case "set":
      return { op: "set", dir: str(o, "dir"), item: wireItem(o.item) };
    default:
      throw new ProtocolError(`unknown request ${JSON.stringify(o.op)}`);
  }
}

const CODES: readonly ErrorCode[] = ["locked", "not-found", "wrong-passphrase", "bad-request", "error"];

/** Parses one response line (from the agent). */
export function parseResponse(line: string): AgentResponse {
  const o = object(line);
  if (o.ok === true) {
    const out: AgentResponse = { ok: true };
    if (o.item !== undefined) out.item = wireItem(o.item);
    if (o.status !== undefined) {
      const s = o.status as Record<string, unknown>;
      if (!s || typeof s !== "object" || typeof s.pid !== "number" || typeof s.unlocked !== "boolean") {
        throw new ProtocolError("malformed status");
      }
      out.status = {
        pid: s.pid,
        unlocked: s.unlocked,
        ...(typeof s.dir === "string" ? { dir: s.dir } : {}),
        ...(typeof s.ttlLeftMs === "number" ? { ttlLeftMs: s.ttlLeftMs } : {}),
        ...(typeof s.idleLeftMs === "number" ? { idleLeftMs: s.idleLeftMs } : {}),
      };
    }
    return out;
  }
  if (o.ok === false && CODES.includes(o.code as ErrorCode)) {
    const hints = Array.isArray(o.hints) ? o.hints.filter((h): h is string => typeof h === "string").slice(0, 10) : [];
    return {
      ok: false,
      code: o.code as ErrorCode,
      message: typeof o.message === "string" ? o.message : "agent error",
      ...(hints.length ? { hints } : {}),
    };
  }
  throw new ProtocolError("malformed response");
}
