// `aws-vault import --login-cache [--scrub]`: the report; the work is in vault/login-cache-import.ts.
// cli/import.ts sends --login-cache here.
import { UsageError, UserError } from "../errors.ts";
import { importLoginCache, loginCacheDirectory } from "../vault/login-cache-import.ts";
import type { Session } from "./global.ts";

export interface ImportLoginCacheOptions {
  loginCache: boolean;
  scrub: boolean;
}

export function validateImportLoginCacheOptions(o: ImportLoginCacheOptions): void {
  if (!o.loginCache) {
    throw new UsageError("nothing to import", { hints: ["`aws-vault import --login-cache` moves `aws login` sessions into the keyring"] });
  }
}

export async function runImportLoginCache(o: ImportLoginCacheOptions, s: Session): Promise<number> {
  validateImportLoginCacheOptions(o);
  const { rt } = s;
  const dir = loginCacheDirectory(rt.env, rt.homedir);
  const config = await s.configFile().catch(() => undefined);
  const r = await importLoginCache({ dir, scrub: o.scrub, keyring: await s.keyring(), ...(config ? { config } : {}) });
  for (const i of r.imported) {
    const who = i.profiles.length ? ` (profile ${i.profiles.join(", ")})` : "";
    const what = i.keptNewer ? `Kept the newer keyring copy of login session ${i.loginSession}` : `Imported login session ${i.loginSession}`;
    rt.stdout.write(`${what}${who}${i.scrubbed ? `; removed ${i.file}` : ""}\n`);
  }
  for (const f of r.failed) rt.stderr.write(`aws-vault: warning: ${f.file} ${f.reason}; left in place\n`);
  if (r.imported.length === 0 && r.failed.length === 0) rt.stdout.write(`No login sessions in ${dir}\n`);
  if (r.failed.length) {
    throw new UserError(`${r.failed.length} login cache file${r.failed.length === 1 ? "" : "s"} not imported`, {
      hints: ["sign in again with `aws-vault signin PROFILE` for a session whose file is damaged"],
    });
  }
  return 0;
}
