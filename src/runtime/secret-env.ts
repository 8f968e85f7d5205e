// Environment variables that unlock the keyring. They are ours alone: no program we start ever
// sees them (an `exec --ecs-server` child holding the file passphrase could decrypt every stored
// key). Every spawn in runtime/ filters through withoutSecretVars, and vault/child-env.ts does too.

/** Every name with this prefix is removed: AWS_VAULT_FILE_PASSPHRASE, AWS_VAULT_FILE_PASSPHRASE_CMD and any later one. */
export const SECRET_ENV_PREFIX = "AWS_VAULT_FILE_PASSPHRASE";

export function isSecretEnvVar(name: string): boolean {
  // Windows environment names are case-insensitive.
  return name.toUpperCase().startsWith(SECRET_ENV_PREFIX);
}

/** A copy of env without the keyring-unlocking variables (and without undefined values). */
export function withoutSecretVars(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isSecretEnvVar(k)) out[k] = v;
  return out;
}
