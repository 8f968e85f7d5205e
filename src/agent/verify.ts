// Checks a file keyring passphrase through the file keyring's public API: it must open the first
// readable item (damaged or foreign files are skipped). An empty keyring accepts any passphrase.
import { KeyNotFoundError, KeyringError, UserError, WrongPassphraseError } from "../errors.ts";
import { FileKeyring } from "../keyring/file.ts";
import type { Secret } from "../util/secret.ts";

export async function verifyFilePassphrase(
  dir: string,
  passphrase: Secret,
  deps: { now: () => Date; random: (n: number) => Uint8Array },
): Promise<{ items: number }> {
  const keyring = new FileKeyring({
    dir,
    passphrase: { fromEnv: passphrase, prompt: () => Promise.reject(new UserError("no prompt while verifying")) },
    now: deps.now,
    random: deps.random,
  });
  const keys = await keyring.keys();
  for (const key of keys) {
    try {
      await keyring.get(key);
      return { items: keys.length };
    } catch (e) {
      if (e instanceof WrongPassphraseError) throw e;
      if (e instanceof KeyNotFoundError || e instanceof KeyringError) continue;
      throw e;
    }
  }
  return { items: keys.length };
}
