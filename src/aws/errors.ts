import { AwsCallError, UserError } from "../errors.ts";

interface SdkErrorShape {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
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
  if (code === "ECONNREFUSED" || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT/.test(String(err.message))) {
    return new AwsCallError(`profile ${profile}: ${call} failed: cannot reach the endpoint (${firstLine(err.message)})`, code, {
      hints: ["check your network, proxy and AWS_ENDPOINT_URL settings"],
      cause: e,
    });
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
