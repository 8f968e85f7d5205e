// OAuth 2.0 helpers shared by every browser sign-in with an authorization code (IAM Identity
// Center today; AWS Sign-In's login session later): PKCE (RFC 7636) and the `state` value.
// Randomness comes from the Runtime so tests can pin it; nothing here touches the network.
import { nodeCrypto } from "../runtime/builtins.ts";
import { Secret } from "../util/secret.ts";

export interface PkcePair {
  /** code_verifier: 43 characters of base64url (32 random bytes), sent only with the token request. */
  verifier: Secret;
  /** code_challenge = BASE64URL(SHA256(verifier)), sent in the authorize URL. */
  challenge: string;
  method: "S256";
}

/** RFC 7636 §4.2: the S256 challenge of a verifier. */
export function s256Challenge(verifier: string): string {
  return nodeCrypto().createHash("sha256").update(verifier, "ascii").digest("base64url");
}

export function createPkcePair(random: (bytes: number) => Uint8Array): PkcePair {
  const verifier = Buffer.from(random(32)).toString("base64url");
  return { verifier: new Secret(verifier), challenge: s256Challenge(verifier), method: "S256" };
}

/** An unguessable `state` (128 bits, hex), tying the callback to this sign-in. */
export function randomState(random: (bytes: number) => Uint8Array): string {
  return Buffer.from(random(16)).toString("hex");
}
