// After a command hands out credentials: one audit line, and the rotation reminder (stderr only).
// Both are cheap on the `export --format json` path: one append, one small file read.
import type { Runtime } from "../runtime/runtime.ts";
import { audit, sourceOfKind } from "../vault/audit-log.ts";
import type { Credentials } from "../vault/credentials.ts";
import { rotationReminder } from "../vault/key-age.ts";
import { profileChain } from "../vault/master-name.ts";
import { unwrap } from "../vault/providers/provider.ts";
import type { ResolvedCredentials } from "./temp-credentials.ts";

export async function recordHandOut(
  rt: Runtime,
  command: string,
  profile: string,
  resolved: ResolvedCredentials,
  outcome: { credentials: Credentials } | { error: unknown },
): Promise<void> {
  const kind = unwrap(resolved.provider).kind;
  const ok = "credentials" in outcome;
  await audit(rt, {
    command,
    profile,
    source: sourceOfKind(kind, Boolean(resolved.provider.fromCache) && ok),
    mfa: resolved.mfaUsed(),
    ...(ok && outcome.credentials.expiration ? { expires: outcome.credentials.expiration } : {}),
    ...(ok ? { accessKeyId: outcome.credentials.accessKeyId } : {}),
    result: ok ? "ok" : "error",
    ...(!ok ? { detail: outcome.error instanceof Error ? outcome.error.message : String(outcome.error) } : {}),
  });
  if (ok) await remindToRotate(rt, profileChain(resolved.config).map((c) => c.profileName));
}

export async function remindToRotate(rt: Runtime, chain: string[]): Promise<void> {
  try {
    const line = await rotationReminder(rt, chain);
    if (line) rt.stderr.write(`${line}\n`);
  } catch (e) {
    rt.log.debug(`rotation reminder check failed: ${(e as Error).message}`);
  }
}
