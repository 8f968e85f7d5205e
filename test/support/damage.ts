// Damages a file keyring item the way a bad disk or a careless edit would: one character of one
// part of its compact JWE changes (1 = the wrapped content key, 3 = the ciphertext).
import { readFileSync, writeFileSync } from "node:fs";

export function damageItem(file: string, part: 1 | 3): void {
  const parts = readFileSync(file, "utf8").split(".");
  const p = parts[part] as string;
  const i = Math.floor(p.length / 2);
  parts[part] = p.slice(0, i) + (p[i] === "A" ? "B" : "A") + p.slice(i + 1);
  writeFileSync(file, parts.join("."));
}
