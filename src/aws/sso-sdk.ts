// The SSO portal adapter over @aws-sdk/client-sso. Loaded only through clients.ts when a call is
// needed. GetRoleCredentials is unsigned: it authenticates with the OIDC access token, sent in the
// x-amz-sso_bearer_token header.
import { GetRoleCredentialsCommand, ListAccountRolesCommand, ListAccountsCommand, SSOClient } from "@aws-sdk/client-sso";
import { Secret } from "../util/secret.ts";
import type { Credentials } from "../vault/credentials.ts";
import { addEndpointDiagnostics } from "./endpoint-diagnostics.ts";
import { clientConfig } from "./client-config.ts";
import type { ClientOptions, SsoAccount, SsoApi } from "./types.ts";

/** A bound on pages, so a portal that keeps answering with a nextToken cannot loop forever. */
const MAX_PAGES = 1000;

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

    async listAccounts({ accessToken }): Promise<SsoAccount[]> {
      const out: SsoAccount[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await client.send(new ListAccountsCommand({ accessToken: accessToken.reveal(), ...(nextToken ? { nextToken } : {}) }));
        for (const a of res.accountList ?? []) {
          if (!a.accountId) continue;
          out.push({ accountId: a.accountId, accountName: a.accountName ?? a.accountId, ...(a.emailAddress ? { emailAddress: a.emailAddress } : {}) });
        }
        nextToken = res.nextToken || undefined;
        if (!nextToken) return out;
      }
      throw new Error(`SSO ListAccounts returned more than ${MAX_PAGES} pages`);
    },

    async listAccountRoles({ accessToken, accountId }): Promise<string[]> {
      const out: string[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await client.send(
          new ListAccountRolesCommand({ accessToken: accessToken.reveal(), accountId, ...(nextToken ? { nextToken } : {}) }),
        );
        for (const r of res.roleList ?? []) if (r.roleName) out.push(r.roleName);
        nextToken = res.nextToken || undefined;
        if (!nextToken) return out;
      }
      throw new Error(`SSO ListAccountRoles returned more than ${MAX_PAGES} pages`);
    },
  };
}
