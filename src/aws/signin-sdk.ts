// The AWS Sign-In adapter over @aws-sdk/nested-clients/signin (CreateOAuth2Token, the token
// endpoint of `aws login`). Loaded only through clients.ts, so nothing pays for it unless a
// login_session token is refreshed or a sign-in completes. The call is unsigned (the operation is
// noAuth); a DPoP proof for the exact request URL is added when the request is final.
import { CreateOAuth2TokenCommand, SigninClient } from "@aws-sdk/nested-clients/signin";
import { Secret } from "../util/secret.ts";
import { clientConfig } from "./client-config.ts";
import { dpopProof, parseDpopKey } from "./dpop.ts";
import { addEndpointDiagnostics, requestUrl } from "./endpoint-diagnostics.ts";
import type { ClientOptions, SigninApi, SigninToken, SigninTokenRequest } from "./types.ts";

function incomplete(field: string): Error {
  return new Error(`Sign-In CreateOAuth2Token returned no ${field}`);
}

function tokenInput(p: SigninTokenRequest) {
  if (p.grantType === "refresh_token") {
    return { clientId: p.clientId, grantType: p.grantType, refreshToken: p.refreshToken.reveal() };
  }
  return {
    clientId: p.clientId,
    grantType: p.grantType,
    code: p.code.reveal(),
    codeVerifier: p.codeVerifier.reveal(),
    ...(p.redirectUri ? { redirectUri: p.redirectUri } : {}),
  };
}

export function createSignin(opts: Omit<ClientOptions, "credentials">): SigninApi {
  return {
    async createOAuth2Token(p, dpopKey): Promise<SigninToken> {
      const key = parseDpopKey(dpopKey);
      // Empty static credentials keep the SDK from looking for any: the operation is unsigned.
      const client = new SigninClient({ ...clientConfig(opts), credentials: { accessKeyId: "", secretAccessKey: "" } });
      addEndpointDiagnostics(client.middlewareStack);
      client.middlewareStack.add(
        (next) => async (args) => {
          const req = args.request as { method?: string; headers?: Record<string, string> } & Parameters<typeof requestUrl>[0];
          if (req && typeof req === "object" && req.headers) {
            // The wall clock on purpose: Sign-In checks `iat` against its own clock, not ours.
            req.headers = { ...req.headers, DPoP: dpopProof(key, req.method ?? "POST", requestUrl(req), new Date()) };
          }
          return next(args);
        },
        { step: "finalizeRequest", name: "awsVaultDpop", override: true },
      );
      const out = await client.send(new CreateOAuth2TokenCommand({ tokenInput: tokenInput(p) }));
      const t = out.tokenOutput;
      if (!t?.accessToken?.accessKeyId) throw incomplete("accessKeyId");
      if (!t.accessToken.secretAccessKey) throw incomplete("secretAccessKey");
      if (!t.accessToken.sessionToken) throw incomplete("sessionToken");
      if (!t.refreshToken) throw incomplete("refreshToken");
      return {
        accessKeyId: t.accessToken.accessKeyId,
        secretAccessKey: new Secret(t.accessToken.secretAccessKey),
        sessionToken: new Secret(t.accessToken.sessionToken),
        expiresInSeconds: typeof t.expiresIn === "number" ? t.expiresIn : 900,
        refreshToken: new Secret(t.refreshToken),
        ...(t.idToken ? { idToken: t.idToken } : {}),
      };
    },
  };
}
