// DPoP proofs (RFC 9449) for AWS Sign-In's token endpoint: a compact JWS signed with ES256 by the
// P-256 key the refresh token is bound to. Header {typ: "dpop+jwt", alg: "ES256", jwk: public key};
// claims {jti: fresh UUID, htm: the HTTP method, htu: the request URL without query or fragment,
// iat: seconds}. The key travels as SEC1 PEM ("EC PRIVATE KEY"), the form the AWS CLI and SDKs
// keep in their login cache, so keys move between the two without conversion.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign } from "node:crypto";
import { Secret } from "../util/secret.ts";

/** A DPoP private key as SEC1 PEM. Secret: never logged, stored only in the keyring. */
export type DpopKeyPem = Secret;

export function generateDpopKey(): DpopKeyPem {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return new Secret(privateKey.export({ format: "pem", type: "sec1" }).toString());
}

/** The key, or an Error (without key material) when the PEM is not a P-256 private key. */
export function parseDpopKey(pem: DpopKeyPem): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem.reveal(), format: "pem" });
  } catch {
    throw new Error("the DPoP key is not a PEM private key");
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("the DPoP key is not a P-256 (ES256) key");
  }
  return key;
}

function b64url(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString("base64url");
}

/** A proof for one request. `url` is the full request URL; query and fragment are dropped (RFC 9449 §4.2). */
export function dpopProof(key: KeyObject, method: string, url: string, now: Date): string {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  const htu = new URL(url);
  htu.search = "";
  htu.hash = "";
  const header = { typ: "dpop+jwt", alg: "ES256", jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
  const claims = { jti: randomUUID(), htm: method.toUpperCase(), htu: htu.href, iat: Math.floor(now.getTime() / 1000) };
  const input = `${b64url(header)}.${b64url(claims)}`;
  // JWS wants the raw r||s signature, not DER.
  const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${sig.toString("base64url")}`;
}
