// Which stored long-term credentials a profile ultimately uses (aws-vault FindMasterCredentialsNameFor),
// walking the whole source_profile chain: aws-vault v7 follows only one hop correctly (§4.2).
import { UserError } from "../errors.ts";
import type { ProfileConfig } from "./config/profile.ts";

/** The profile and its source_profile chain, target first. */
export function profileChain(config: ProfileConfig): ProfileConfig[] {
  const chain: ProfileConfig[] = [];
  const seen = new Set<string>();
  for (let c: ProfileConfig | undefined = config; c && !seen.has(c.profileName); c = c.sourceProfile) {
    seen.add(c.profileName);
    chain.push(c);
  }
  return chain;
}

/**
 * The first profile in the chain whose name has stored credentials: the target itself, else its
 * source_profile, and so on. Throws aws-vault's "No master credentials found".
 */
/** "'a' has no stored credentials", "neither 'a' nor 'b' has…", "none of 'a', 'b' or 'c' has…", with what to do. */
export function noStoredCredentialsHint(names: string[]): string {
  const quoted = names.map((n) => `'${n}'`);
  const last = quoted[quoted.length - 1];
  const who =
    quoted.length === 1
      ? `${last} has no stored credentials`
      : quoted.length === 2
        ? `neither ${quoted[0]} nor ${last} has stored credentials`
        : `none of ${quoted.slice(0, -1).join(", ")} or ${last} has stored credentials`;
  return `${who}: store them with \`aws-vault add ${names[names.length - 1]}\`; \`aws-vault list\` shows what is stored`;
}

export async function findMasterCredentialsName(
  config: ProfileConfig,
  hasStored: (profileName: string) => Promise<boolean>,
): Promise<ProfileConfig> {
  for (const c of profileChain(config)) {
    if (await hasStored(c.profileName)) return c;
  }
  throw new UserError("No master credentials found", {
    hints: [noStoredCredentialsHint(profileChain(config).map((c) => c.profileName))],
  });
}
