// The SSO portal adapter over @aws-sdk/client-sso (bearer-token calls, unsigned). Loaded only through clients.ts.
import { GetRoleCredentialsCommand, SSOClient } from "@aws-sdk/client-sso";
import { Secret } from "../util/secret.ts";
import type { ClientOptions, SsoApi } from "./types.ts";

export function createSso(opts: Omit<ClientOptions, "credentials">): SsoApi {
  const client = new SSOClient({
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    maxAttempts: 3,
  });
  return {
    async getRoleCredentials(p) {
      const out = await client.send(
        new GetRoleCredentialsCommand({ accessToken: p.accessToken.reveal(), accountId: p.accountId, roleName: p.roleName }),
      );
      const c = out.roleCredentials;
      if (!c?.accessKeyId || !c.secretAccessKey) throw new Error("SSO returned no role credentials");
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: new Secret(c.secretAccessKey),
        ...(c.sessionToken ? { sessionToken: new Secret(c.sessionToken) } : {}),
        // The portal returns the expiry in epoch milliseconds.
        ...(c.expiration ? { expiration: new Date(c.expiration) } : {}),
      };
    },
  };
}
