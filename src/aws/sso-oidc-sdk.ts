// The SSO OIDC adapter over @aws-sdk/client-sso-oidc (device authorization flow). Loaded only through clients.ts.
import {
  CreateTokenCommand,
  RegisterClientCommand,
  SSOOIDCClient,
  StartDeviceAuthorizationCommand,
} from "@aws-sdk/client-sso-oidc";
import { Secret } from "../util/secret.ts";
import type { ClientOptions, SsoOidcApi } from "./types.ts";

const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

export function createSsoOidc(opts: Omit<ClientOptions, "credentials">): SsoOidcApi {
  const client = new SSOOIDCClient({
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    maxAttempts: 3,
  });
  return {
    async registerClient(p) {
      const out = await client.send(
        new RegisterClientCommand({ clientName: p.clientName, clientType: p.clientType, ...(p.scopes?.length ? { scopes: p.scopes } : {}) }),
      );
      if (!out.clientId || !out.clientSecret) throw new Error("SSO OIDC returned no client registration");
      return {
        clientId: out.clientId,
        clientSecret: new Secret(out.clientSecret),
        ...(out.clientSecretExpiresAt ? { clientSecretExpiresAt: new Date(out.clientSecretExpiresAt * 1000) } : {}),
      };
    },
    async startDeviceAuthorization(p) {
      const out = await client.send(
        new StartDeviceAuthorizationCommand({
          clientId: p.client.clientId,
          clientSecret: p.client.clientSecret.reveal(),
          startUrl: p.startUrl,
        }),
      );
      if (!out.deviceCode || !out.verificationUri) throw new Error("SSO OIDC returned no device authorization");
      return {
        deviceCode: new Secret(out.deviceCode),
        userCode: out.userCode ?? "",
        verificationUri: out.verificationUri,
        verificationUriComplete: out.verificationUriComplete ?? out.verificationUri,
        expiresInSeconds: out.expiresIn ?? 600,
        intervalSeconds: out.interval ?? 5,
      };
    },
    async createToken(p) {
      const out = await client.send(
        new CreateTokenCommand({
          clientId: p.client.clientId,
          clientSecret: p.client.clientSecret.reveal(),
          deviceCode: p.deviceCode.reveal(),
          grantType: DEVICE_CODE_GRANT,
        }),
      );
      if (!out.accessToken) throw new Error("SSO OIDC returned no access token");
      return {
        accessToken: new Secret(out.accessToken),
        expiresInSeconds: out.expiresIn ?? 0,
        tokenType: out.tokenType ?? "Bearer",
        ...(out.refreshToken ? { refreshToken: new Secret(out.refreshToken) } : {}),
      };
    },
  };
}
