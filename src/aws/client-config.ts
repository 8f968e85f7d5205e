// Settings shared by every SDK client; imports no SDK, so each adapter chunk stays independent.
import type { Credentials } from "../vault/credentials.ts";
import type { ClientOptions } from "./types.ts";

export function sdkCredentials(c: Credentials) {
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey.reveal(),
    ...(c.sessionToken ? { sessionToken: c.sessionToken.reveal() } : {}),
    ...(c.expiration ? { expiration: c.expiration } : {}),
  };
}

/** Client settings shared by every adapter; `credentials` is absent for the unsigned SSO clients. */
export function clientConfig(opts: ClientOptions) {
  return {
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: sdkCredentials(opts.credentials) } : {}),
    maxAttempts: 3,
  };
}
