// The SSO portal adapter over @aws-sdk/client-sso. Loaded only through clients.ts when a call is
// needed. GetRoleCredentials is unsigned: it authenticates with the OIDC access token, sent in the
// x-amz-sso_bearer_token header.
import { GetRoleCredentialsCommand, SSOClient } from "@aws-sdk/client-sso";
import { Secret } from "../util/secret.ts";
import type { Credentials } from "../vault/credentials.ts";
import { addEndpointDiagnostics } from "./endpoint-diagnostics.ts";
import { clientConfig } from "./client-config.ts";
import type { ClientOptions, SsoApi } from "./types.ts";

export function createSso(opts: Omit<ClientOptions, "credentials">): SsoApi {
  const client = new SSOClient(clientConfig(opts));
  addEndpointDiagnostics(client.middlewareStack);
  return {
    async getRoleCredentials({ accessToken, accountId, roleName }): Promise<Credentials> {
      const out = await client.send(
        new GetRoleCredentialsCommand({ accessToken: accessToken.reveal(), accountId, roleName }),
      );
      const c = out.roleCredentials;
      if (!c?.accessKeyId || !c.secretAccessKey || !c.sessionToken || typeof c.expiration !== "number") {
        throw new Error("SSO GetRoleCredentials returned incomplete role credentials");
      }
      // The portal's expiration is epoch milliseconds.
      const expiration = new Date(c.expiration);
      if (Number.isNaN(expiration.getTime())) throw new Error("SSO GetRoleCredentials returned an invalid expiration");
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: new Secret(c.secretAccessKey),
        sessionToken: new Secret(c.sessionToken),
        expiration,
      };
    },
  };
}
