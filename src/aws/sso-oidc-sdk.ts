// The SSO OIDC adapter over @aws-sdk/client-sso-oidc (the device authorization grant). Loaded only
// through clients.ts. Every call is unsigned; the client id and secret travel in the body.
import {
  CreateTokenCommand,
  RegisterClientCommand,
  SSOOIDCClient,
  StartDeviceAuthorizationCommand,
} from "@aws-sdk/client-sso-oidc";
import { Secret } from "../util/secret.ts";
import { addEndpointDiagnostics } from "./endpoint-diagnostics.ts";
import { clientConfig } from "./client-config.ts";
import type { ClientOptions, DeviceAuthorization, OidcClientRegistration, OidcToken, SsoOidcApi } from "./types.ts";

export const DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";

function incomplete(call: string, field: string): Error {
  return new Error(`SSO OIDC ${call} returned no ${field}`);
}

export function createSsoOidc(opts: Omit<ClientOptions, "credentials">): SsoOidcApi {
  const client = new SSOOIDCClient(clientConfig(opts));
  addEndpointDiagnostics(client.middlewareStack);
  return {
    async registerClient({ clientName, clientType, scopes }): Promise<OidcClientRegistration> {
      const out = await client.send(
        new RegisterClientCommand({ clientName, clientType, ...(scopes?.length ? { scopes } : {}) }),
      );
      if (!out.clientId) throw incomplete("RegisterClient", "clientId");
      if (!out.clientSecret) throw incomplete("RegisterClient", "clientSecret");
      return {
        clientId: out.clientId,
        clientSecret: new Secret(out.clientSecret),
        ...(typeof out.clientSecretExpiresAt === "number" ? { clientSecretExpiresAt: new Date(out.clientSecretExpiresAt * 1000) } : {}),
      };
    },

    async startDeviceAuthorization({ client: reg, startUrl }): Promise<DeviceAuthorization> {
      const out = await client.send(
        new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret.reveal(), startUrl }),
      );
      if (!out.deviceCode) throw incomplete("StartDeviceAuthorization", "deviceCode");
      if (!out.verificationUri && !out.verificationUriComplete) throw incomplete("StartDeviceAuthorization", "verificationUri");
      return {
        deviceCode: new Secret(out.deviceCode),
        userCode: out.userCode ?? "",
        verificationUri: out.verificationUri ?? out.verificationUriComplete ?? "",
        verificationUriComplete: out.verificationUriComplete ?? out.verificationUri ?? "",
        expiresInSeconds: out.expiresIn ?? 0,
        intervalSeconds: out.interval ?? 0,
      };
    },

    async createToken({ client: reg, deviceCode }): Promise<OidcToken> {
      const out = await client.send(
        new CreateTokenCommand({
          clientId: reg.clientId,
          clientSecret: reg.clientSecret.reveal(),
          grantType: DEVICE_CODE_GRANT_TYPE,
          deviceCode: deviceCode.reveal(),
        }),
      );
      if (!out.accessToken) throw incomplete("CreateToken", "accessToken");
      if (typeof out.expiresIn !== "number") throw incomplete("CreateToken", "expiresIn");
      return {
        accessToken: new Secret(out.accessToken),
        expiresInSeconds: out.expiresIn,
        tokenType: out.tokenType ?? "Bearer",
        ...(out.refreshToken ? { refreshToken: new Secret(out.refreshToken) } : {}),
      };
    },
  };
}
