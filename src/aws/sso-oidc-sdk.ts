// The SSO OIDC adapter over @aws-sdk/client-sso-oidc: the device authorization grant, the
// authorization-code grant with PKCE (plus the `/authorize` URL of the same endpoint) and the
// refresh-token grant. Loaded only through clients.ts. Every call is unsigned; the client id and
// secret travel in the body.
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
import type { CreateTokenCommandInput, CreateTokenCommandOutput } from "@aws-sdk/client-sso-oidc";

export const DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
export const AUTHORIZATION_CODE_GRANT_TYPE = "authorization_code";
export const REFRESH_TOKEN_GRANT_TYPE = "refresh_token";

function toToken(out: CreateTokenCommandOutput): OidcToken {
  if (!out.accessToken) throw incomplete("CreateToken", "accessToken");
  if (typeof out.expiresIn !== "number") throw incomplete("CreateToken", "expiresIn");
  return {
    accessToken: new Secret(out.accessToken),
    expiresInSeconds: out.expiresIn,
    tokenType: out.tokenType ?? "Bearer",
    ...(out.refreshToken ? { refreshToken: new Secret(out.refreshToken) } : {}),
  };
}

function incomplete(call: string, field: string): Error {
  return new Error(`SSO OIDC ${call} returned no ${field}`);
}

export function createSsoOidc(opts: Omit<ClientOptions, "credentials">): SsoOidcApi {
  const client = new SSOOIDCClient(clientConfig(opts));
  /** CreateToken for one grant: the registered client's id and secret plus the grant's own fields. */
  const createTokenWith = async (reg: OidcClientRegistration, grant: Omit<CreateTokenCommandInput, "clientId" | "clientSecret">): Promise<OidcToken> =>
    toToken(await client.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret.reveal(), ...grant })));
  addEndpointDiagnostics(client.middlewareStack);
  return {
    async registerClient({ clientName, clientType, scopes, grantTypes, redirectUris, issuerUrl }): Promise<OidcClientRegistration> {
      const out = await client.send(
        new RegisterClientCommand({
          clientName,
          clientType,
          ...(scopes?.length ? { scopes } : {}),
          ...(grantTypes?.length ? { grantTypes } : {}),
          ...(redirectUris?.length ? { redirectUris } : {}),
          ...(issuerUrl ? { issuerUrl } : {}),
        }),
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
      return createTokenWith(reg, { grantType: DEVICE_CODE_GRANT_TYPE, deviceCode: deviceCode.reveal() });
    },

    async authorizeUrl({ client: reg, redirectUri, state, codeChallenge, scopes }): Promise<string> {
      // The same endpoint the API calls go to (endpoint override, else the regional OIDC host).
      const endpoint = client.config.endpointProvider({ Region: opts.region, UseFIPS: false, UseDualStack: false, ...(opts.endpoint ? { Endpoint: opts.endpoint } : {}) });
      const base = endpoint.url.href.replace(/\/+$/, "");
      const query = new URLSearchParams({
        response_type: "code",
        client_id: reg.clientId,
        redirect_uri: redirectUri,
        state,
        code_challenge_method: "S256",
        scopes: scopes.join(" "),
        code_challenge: codeChallenge,
      });
      return `${base}/authorize?${query.toString()}`;
    },

    async createTokenWithCode({ client: reg, code, codeVerifier, redirectUri }): Promise<OidcToken> {
      return createTokenWith(reg, {
        grantType: AUTHORIZATION_CODE_GRANT_TYPE,
        code: code.reveal(),
        codeVerifier: codeVerifier.reveal(),
        redirectUri,
      });
    },

    async refreshToken({ client: reg, refreshToken }): Promise<OidcToken> {
      return createTokenWith(reg, { grantType: REFRESH_TOKEN_GRANT_TYPE, refreshToken: refreshToken.reveal() });
    },
  };
}
