// The STS adapter over @aws-sdk/client-sts. Loaded only through clients.ts when a call is needed.
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  GetFederationTokenCommand,
  GetSessionTokenCommand,
  STSClient,
  type Credentials as StsCredentials,
} from "@aws-sdk/client-sts";
import { Secret } from "../util/secret.ts";
import type { Credentials } from "../vault/credentials.ts";
import { addEndpointDiagnostics } from "./endpoint-diagnostics.ts";
import { clientConfig } from "./client-config.ts";
import type { StsApi, ClientOptions } from "./types.ts";

function fromSts(c: StsCredentials | undefined): Credentials {
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error("STS returned no credentials");
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: new Secret(c.SecretAccessKey),
    ...(c.SessionToken ? { sessionToken: new Secret(c.SessionToken) } : {}),
    ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
  };
}

export function createSts(opts: ClientOptions): StsApi {
  const client = new STSClient(clientConfig(opts));
  addEndpointDiagnostics(client.middlewareStack);
  return {
    async getSessionToken({ durationSeconds, mfa }) {
      const out = await client.send(
        new GetSessionTokenCommand({
          DurationSeconds: durationSeconds,
          ...(mfa ? { SerialNumber: mfa.serialNumber, TokenCode: mfa.tokenCode.reveal() } : {}),
        }),
      );
      return fromSts(out.Credentials);
    },
    async assumeRole(p) {
      const out = await client.send(
        new AssumeRoleCommand({
          RoleArn: p.roleArn,
          RoleSessionName: p.roleSessionName,
          DurationSeconds: p.durationSeconds,
          ...(p.externalId ? { ExternalId: p.externalId } : {}),
          ...(p.mfa ? { SerialNumber: p.mfa.serialNumber, TokenCode: p.mfa.tokenCode.reveal() } : {}),
          ...(p.tags && Object.keys(p.tags).length
            ? { Tags: Object.entries(p.tags).map(([Key, Value]) => ({ Key, Value })) }
            : {}),
          ...(p.transitiveTagKeys?.length ? { TransitiveTagKeys: p.transitiveTagKeys } : {}),
          ...(p.sourceIdentity ? { SourceIdentity: p.sourceIdentity } : {}),
        }),
      );
      return fromSts(out.Credentials);
    },
    async assumeRoleWithWebIdentity(p) {
      const out = await client.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: p.roleArn,
          RoleSessionName: p.roleSessionName,
          DurationSeconds: p.durationSeconds,
          WebIdentityToken: p.webIdentityToken.reveal(),
        }),
      );
      return fromSts(out.Credentials);
    },
    async getCallerIdentity() {
      const out = await client.send(new GetCallerIdentityCommand({}));
      return { arn: out.Arn ?? "", account: out.Account ?? "", userId: out.UserId ?? "" };
    },
    async getFederationToken(p) {
      const out = await client.send(
        new GetFederationTokenCommand({ Name: p.name, DurationSeconds: p.durationSeconds, Policy: p.policy }),
      );
      return fromSts(out.Credentials);
    },
  };
}
