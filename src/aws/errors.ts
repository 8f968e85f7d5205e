import { AwsCallError, UserError } from "../errors.ts";
import type { EndpointFailure } from "./endpoint-diagnostics.ts";

interface SdkErrorShape extends EndpointFailure {
  name?: string;
  message?: string;
  Code?: string;
  code?: string;
  address?: string;
  port?: number;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** Why a connection failed, by errno, in the same words on every runtime. */
const CONNECT_ERRNOS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENETUNREACH: "network is unreachable",
  EHOSTUNREACH: "no route to host",
  EHOSTDOWN: "host is down",
  ENETDOWN: "network is down",
  EADDRNOTAVAIL: "address not available",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset by peer",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "temporary failure in name resolution",
};

function connectErrno(err: SdkErrorShape): string | undefined {
  if (err.$errno && CONNECT_ERRNOS[err.$errno]) return err.$errno;
  if (err.code && CONNECT_ERRNOS[err.code]) return err.code;
  const m = /\b(E[A-Z_]+)\b/.exec(String(err.message ?? ""));
  return m?.[1] && CONNECT_ERRNOS[m[1]] ? m[1] : undefined;
}

function endpointOf(err: SdkErrorShape): string | undefined {
  if (err.$endpoint) return err.$endpoint;
  if (err.address) return `${err.address.includes(":") ? `[${err.address}]` : err.address}${err.port ? `:${err.port}` : ""}`;
  return undefined;
}

/** The response was not an AWS API response (an HTML error page, a captive portal, a wrong endpoint). */
function unparsableStatus(err: SdkErrorShape): number | undefined {
  const status = err.$metadata?.httpStatusCode ?? err.$response?.statusCode;
  if (status === undefined) return undefined;
  if (err.name === "NonAwsResponseError") return status;
  // A parser error, or the SDK's "Unknown" exception for an error body it found no AWS error code in.
  if (err.name === "SyntaxError" || /Deserialization error/.test(String(err.message))) return status;
  if ((err.name === "Unknown" || err.name === "UnknownError") && (err.message === undefined || /^Unknown(Error)?$/.test(err.message))) return status;
  return undefined;
}

const HINTS: Record<string, string> = {
  InvalidClientTokenId: "the access key is not valid: check the stored credentials (`aws-vault add` replaces them)",
  SignatureDoesNotMatch: "the secret access key does not match the key id: store the credentials again with `aws-vault add`",
  ExpiredToken: "the credentials used for this call have expired; `aws-vault clear` removes cached sessions",
  AccessDenied: "check the MFA code, the role's trust policy and your IAM permissions",
  ValidationError: "check the duration (--duration, duration_seconds) and the role's maximum session duration",
  RegionDisabledException: "the STS endpoint of this region is disabled for the account; set another region",
};

/** Turns an SDK failure into a one-line error naming the profile and the call. */
export function awsCallError(profile: string, call: string, e: unknown): UserError {
  const err = (e ?? {}) as SdkErrorShape;
  const code = err.Code ?? err.name;
  const errno = connectErrno(err);
  if (errno) {
    return new AwsCallError(
      `profile ${profile}: ${call} failed: cannot reach ${endpointOf(err) ?? "the endpoint"}: ${CONNECT_ERRNOS[errno]} (${errno})`,
      errno,
      { hints: ["check your network, proxy and AWS_ENDPOINT_URL settings"], cause: e },
    );
  }
  const status = unparsableStatus(err);
  if (status !== undefined) {
    return new AwsCallError(
      `profile ${profile}: ${call} failed: ${endpointOf(err) ?? "the endpoint"} answered HTTP ${status} with a response that is not from the AWS API`,
      code,
      { hints: ["check AWS_ENDPOINT_URL, endpoint_url and proxy settings: the URL may point at a web page or a proxy"], cause: e },
    );
  }
  if (/region is missing|Region is missing/i.test(String(err.message))) {
    return new AwsCallError(`profile ${profile}: ${call} failed: no AWS region is configured`, code, {
      hints: ["set `region` in the profile, or AWS_REGION / AWS_DEFAULT_REGION, or pass --region"],
      cause: e,
    });
  }
  const hint = code ? HINTS[code] : undefined;
  const text = firstLine(err.message ?? String(e));
  return new AwsCallError(`profile ${profile}: ${call} failed: ${code && !text.startsWith(code) ? `${code}: ` : ""}${text}`, code, {
    ...(hint ? { hints: [hint] } : {}),
    cause: e,
  });
}

function firstLine(s: string | undefined): string {
  return (s ?? "").split("\n")[0]?.trim() ?? "";
}
