// Long-term credentials in the keyring, one item per profile (aws-vault's CredentialKeyring).
import { hasKey, type Keyring, keysMatching, removeIfPresent } from "../keyring/keyring.ts";
import type { Secret } from "../util/secret.ts";
import { type Credentials, decodeMasterCredentials, encodeMasterCredentials } from "./credentials.ts";
import { isCredentialKey } from "./session-key.ts";

export class CredentialStore {
  constructor(readonly keyring: Keyring) {}

  async names(): Promise<string[]> {
    return keysMatching(this.keyring, isCredentialKey);
  }

  async has(profile: string): Promise<boolean> {
    return hasKey(this.keyring, profile);
  }

  async get(profile: string): Promise<Credentials> {
    const item = await this.keyring.get(profile);
    return decodeMasterCredentials(item.data, profile);
  }

  async set(profile: string, creds: { accessKeyId: string; secretAccessKey: Secret }): Promise<void> {
    await this.keyring.set({
      key: profile,
      data: encodeMasterCredentials(creds),
      label: `aws-vault (${profile})`,
      description: "",
      keychainNotTrustApplication: true,
      keychainNotSynchronizable: false,
    });
  }

  /** Returns false when there was nothing to remove. */
  remove(profile: string): Promise<boolean> {
    return removeIfPresent(this.keyring, profile);
  }
}
