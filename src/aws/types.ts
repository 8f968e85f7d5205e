// Narrow ports over the AWS APIs we call. Implementations live in *-sdk.ts files, which are the
// only modules that import the AWS SDK; they are loaded lazily (see clients.ts).
import type { Secret } from "../util/secret.ts";
import type { Credentials } from "../vault/credentials.ts";

export interface ClientOptions {
  region?: string;
  /** Full endpoint URL override (AWS_ENDPOINT_URL*, endpoint_url, legacy STS endpoint). */
  endpoint?: string;
  credentials?: Credentials;
}

export interface MfaParams {
  serialNumber: string;
  tokenCode: Secret;
}

export interface AssumeRoleParams {
  roleArn: string;
  roleSessionName: string;
  durationSeconds: number;
  externalId?: string;
  mfa?: MfaParams;
  tags?: Record<string, string>;
  transitiveTagKeys?: string[];
  sourceIdentity?: string;
}

export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

export interface StsApi {
  getSessionToken(p: { durationSeconds: number; mfa?: MfaParams }): Promise<Credentials>;
  assumeRole(p: AssumeRoleParams): Promise<Credentials>;
  assumeRoleWithWebIdentity(p: {
    roleArn: string;
    roleSessionName: string;
    durationSeconds: number;
    webIdentityToken: Secret;
  }): Promise<Credentials>;
  getCallerIdentity(): Promise<CallerIdentity>;
  getFederationToken(p: { name: string; durationSeconds: number; policy: string }): Promise<Credentials>;
}

export interface AwsClients {
  sts(opts: ClientOptions): Promise<StsApi>;
}
