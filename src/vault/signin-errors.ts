// AWS Sign-In's refusals as one-line errors that say what to run (issue 15).
import { CredentialsError } from "../errors.ts";

/** What Sign-In's AccessDeniedException `error` codes mean. */
const SIGNIN_DENIED: Record<string, string> = {
  TOKEN_EXPIRED: "the sign-in session has expired",
  USER_CREDENTIALS_CHANGED: "the sign-in session ended because the password changed",
  INSUFFICIENT_PERMISSIONS: "the sign-in session may not be refreshed (signin:CreateOAuth2Token is not allowed)",
  AUTHCODE_EXPIRED: "the authorization code has expired",
};

export function signinCommand(profile: string): string {
  return `\`aws-vault signin ${profile}\``;
}

/** A Sign-In denial as a one-line error, or undefined when `e` is not one. */
export function signinDeniedError(profile: string, e: unknown): CredentialsError | undefined {
  const err = (e ?? {}) as { name?: unknown; error?: unknown };
  if (err.name !== "AccessDeniedException") return undefined;
  const code = typeof err.error === "string" ? err.error : "";
  const reason = SIGNIN_DENIED[code] ?? `AWS Sign-In refused the request${code ? ` (${code})` : ""}`;
  return new CredentialsError(`profile ${profile}: ${reason}: run ${signinCommand(profile)}`, { cause: e });
}
