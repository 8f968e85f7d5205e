// Backend discovery and opening, in aws-vault's order. OS backends are added in their own files.
import { homedir as osHomedir } from "node:os";
import { join } from "node:path";
import { KeyringError } from "../errors.ts";
import type { Secret } from "../util/secret.ts";
import { FileKeyring, type PassphraseSource } from "./file.ts";
import type { Keyring } from "./keyring.ts";

export const BACKEND_ORDER = ["wincred", "keychain", "secret-service", "kwallet", "keyctl", "pass", "file"] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface KeyringSettings {
  backend: string;
  fileDir: string;
  passphrase: PassphraseSource;
  keychainName: string;
  secretServiceCollection: string;
  passDir?: string;
  passCmd?: string;
  passPrefix?: string;
  now: () => Date;
  random: (n: number) => Uint8Array;
  log: (message: string) => void;
}

/** Backends usable on this machine, most preferred first. */
export function availableBackends(_env: Readonly<Record<string, string | undefined>>, _platform: string): string[] {
  return ["file"];
}

/** Expands a leading `~/` (and `~` alone) the way aws-vault's keyring does. */
export function expandTilde(path: string, home: string): string {
  if (path === "~") return home || osHomedir();
  if (path.startsWith("~/")) return join(home || osHomedir(), path.slice(2));
  return path;
}

export function defaultFileDir(home: string): string {
  return join(home, ".awsvault", "keys");
}

export async function openKeyring(s: KeyringSettings, available: string[]): Promise<Keyring> {
  if (!available.includes(s.backend)) {
    throw new KeyringError(`Specified keyring backend not available: ${s.backend}`, {
      hints: [`available backends on this machine: ${available.join(", ")}`],
    });
  }
  switch (s.backend) {
    case "file":
      return new FileKeyring({ dir: s.fileDir, passphrase: s.passphrase, now: s.now, random: s.random, log: s.log });
    default:
      throw new KeyringError(`Specified keyring backend not available: ${s.backend}`);
  }
}

export type { Secret };
