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

export interface IamApi {
  /** iam:GetUser for the caller (userName undefined) or a named user. */
  getUser(p?: { userName?: string }): Promise<{ userName: string; arn: string }>;
  createAccessKey(p: { userName?: string }): Promise<{ accessKeyId: string; secretAccessKey: Secret; userName: string }>;
  deleteAccessKey(p: { accessKeyId: string; userName?: string }): Promise<void>;
  listAccessKeys(p: { userName?: string }): Promise<Array<{ accessKeyId: string; status: string; createDate?: Date }>>;
}

export interface SsoAccount {
  accountId: string;
  accountName: string;
  emailAddress?: string;
}

export interface SsoApi {
  getRoleCredentials(p: { accessToken: Secret; accountId: string; roleName: string }): Promise<Credentials>;
  /** sso:ListAccounts, every page. */
  listAccounts(p: { accessToken: Secret }): Promise<SsoAccount[]>;
  /** sso:ListAccountRoles for one account, every page. */
  listAccountRoles(p: { accessToken: Secret; accountId: string }): Promise<string[]>;
}

export interface OidcClientRegistration {
  clientId: string;
  clientSecret: Secret;
  clientSecretExpiresAt?: Date;
}

export interface DeviceAuthorization {
  deviceCode: Secret;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string;
  expiresInSeconds: number;
  intervalSeconds: number;
}

export interface OidcToken {
  accessToken: Secret;
  expiresInSeconds: number;
  tokenType: string;
  refreshToken?: Secret;
}

export interface RegisterClientParams {
  clientName: string;
  clientType: string;
  scopes?: string[];
  /** Authorization-code clients: `authorization_code`, `refresh_token`. */
  grantTypes?: string[];
  redirectUris?: string[];
  issuerUrl?: string;
}

export interface AuthorizeParams {
  client: OidcClientRegistration;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  scopes: string[];
}

export interface SsoOidcApi {
  registerClient(p: RegisterClientParams): Promise<OidcClientRegistration>;
  /** The `/authorize` URL of this OIDC endpoint (pure: the endpoint is resolved, nothing is called). */
  authorizeUrl(p: AuthorizeParams): Promise<string>;
  /** CreateToken, grant authorization_code (PKCE). */
  createTokenWithCode(p: { client: OidcClientRegistration; code: Secret; codeVerifier: Secret; redirectUri: string }): Promise<OidcToken>;
  /** CreateToken, grant refresh_token. */
  refreshToken(p: { client: OidcClientRegistration; refreshToken: Secret }): Promise<OidcToken>;
  startDeviceAuthorization(p: { client: OidcClientRegistration; startUrl: string }): Promise<DeviceAuthorization>;
  /** Rejects with an error whose `name` is AuthorizationPendingException or SlowDownException while the user has not approved. */
  createToken(p: { client: OidcClientRegistration; deviceCode: Secret }): Promise<OidcToken>;
}

/** The two grants of AWS Sign-In's CreateOAuth2Token that the CLI's public clients use. */
export type SigninTokenRequest =
  | { grantType: "refresh_token"; clientId: string; refreshToken: Secret }
  | { grantType: "authorization_code"; clientId: string; code: Secret; codeVerifier: Secret; redirectUri?: string };

/** CreateOAuth2Token's tokenOutput: AWS credentials, a rotated refresh token, and (for a code) the id token. */
export interface SigninToken {
  accessKeyId: string;
  secretAccessKey: Secret;
  sessionToken: Secret;
  expiresInSeconds: number;
  refreshToken: Secret;
  /** A JWT whose `sub` is the login session ARN (authorization-code grant only). */
  idToken?: string;
}

export interface SigninApi {
  /** Each call carries a fresh DPoP proof made with `dpopKey` (SEC1 PEM). */
  createOAuth2Token(p: SigninTokenRequest, dpopKey: Secret): Promise<SigninToken>;
}

export interface AwsClients {
  sts(opts: ClientOptions): Promise<StsApi>;
  iam(opts: ClientOptions): Promise<IamApi>;
  /** Unsigned clients: SSO calls authenticate with the OIDC access token. */
  sso(opts: Omit<ClientOptions, "credentials">): Promise<SsoApi>;
  ssoOidc(opts: Omit<ClientOptions, "credentials">): Promise<SsoOidcApi>;
  /** AWS Sign-In's OAuth API (login_session profiles); unsigned, DPoP-bound. Optional for test doubles that never sign in. */
  signin?(opts: Omit<ClientOptions, "credentials">): Promise<SigninApi>;
}

/** The read-only calls `doctor --online` makes about a stored key. */
export interface DoctorApi {
  /** sts:GetCallerIdentity, with the `Date` of the response (for clock skew). */
  callerIdentity(): Promise<{ arn: string; account: string; serverDate?: Date }>;
  /** iam:ListAccessKeys for the caller (userName undefined) or a named user. */
  accessKeys(userName?: string): Promise<Array<{ accessKeyId: string; status: string; createDate?: Date }>>;
  /** iam:GetAccessKeyLastUsed. */
  lastUsed(accessKeyId: string): Promise<{ date?: Date; service?: string }>;
  /** iam:ListMFADevices: serial numbers. */
  mfaDevices(userName?: string): Promise<string[]>;
}
