import { CredentialStore } from "../credential-store.ts";
import type { CredentialsProvider, VaultDeps } from "./provider.ts";

/** Long-term keys stored in the keyring under the profile's name. */
export function masterCredentialsProvider(deps: VaultDeps, profileName: string): CredentialsProvider {
  const store = new CredentialStore(deps.keyring);
  return { kind: "master", retrieve: () => store.get(profileName) };
}
