// exec, export and login without a profile: on a terminal, the profile picker (prompt/picker.ts,
// loaded only here); without one, the usage error these commands always gave.
import { UsageError } from "../errors.ts";
import type { Session } from "./global.ts";

export const PROFILE_REQUIRED = "required argument 'profile' not provided";

export function canPick(s: Session): boolean {
  return s.rt.stdinIsTTY && s.rt.stderr.isTTY;
}

export async function profileOrPick(s: Session, profile: string | undefined, command: string): Promise<string> {
  if (profile) return profile;
  if (!canPick(s)) throw new UsageError(PROFILE_REQUIRED);
  const names = (await s.configFile()).profileNames();
  if (names.length === 0) {
    throw new UsageError(PROFILE_REQUIRED, { hints: [`no profiles in ${s.options.configPath} to choose from`] });
  }
  const { pickProfile } = await import("../prompt/picker.ts");
  return pickProfile(s.rt, names, `Profile to ${command}:`);
}
