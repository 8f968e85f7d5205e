// `aws-vault export --format` renderings, byte for byte as aws-vault v7 prints them.
import { UserError } from "../errors.ts";
import { formatIso8601 } from "../util/go-format.ts";
import type { Credentials } from "./credentials.ts";

export const EXPORT_FORMATS = ["env", "export-env", "json", "ini"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The variables a shell sees, in aws-vault's order (region last; AWS_VAULT never). */
export function credentialEnvVars(c: Credentials, region: string | undefined): Array<[string, string]> {
  const vars: Array<[string, string]> = [
    ["AWS_ACCESS_KEY_ID", c.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", c.secretAccessKey.reveal()],
  ];
  if (c.sessionToken && !c.sessionToken.isEmpty()) vars.push(["AWS_SESSION_TOKEN", c.sessionToken.reveal()]);
  if (c.expiration) vars.push(["AWS_CREDENTIAL_EXPIRATION", formatIso8601(c.expiration)]);
  if (region) vars.push(["AWS_REGION", region], ["AWS_DEFAULT_REGION", region]);
  return vars;
}

/** The credential_process document (Version 1). */
export function credentialProcessJson(c: Credentials): string {
  const doc: Record<string, string | number> = {
    Version: 1,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey.reveal(),
  };
  if (c.sessionToken && !c.sessionToken.isEmpty()) doc.SessionToken = c.sessionToken.reveal();
  if (c.expiration) doc.Expiration = formatIso8601(c.expiration);
  // Go's json.MarshalIndent escapes <, > and &; credentials never contain them, but keep parity.
  return `${JSON.stringify(doc, null, 2).replace(/[<>&]/g, (ch) => `\\u00${ch.charCodeAt(0).toString(16)}`)}\n`;
}

/** Characters a POSIX shell takes literally in a word; values made only of them are printed as is (as aws-vault does). */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A shell word that `eval` turns back into exactly `value`. */
export function shellQuote(value: string): string {
  if (SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** Line breaks and NUL end or split a `KEY=value` line for every .env reader (docker --env-file, dotenv, systemd). */
const ENV_FILE_UNSAFE = /[\r\n\0]/;

/** `--format env` is read literally, not by a shell: refuse a value such a reader would misread. Names the variable, never the value. */
function envFileLines(vars: Array<[string, string]>, profile: string, format: ExportFormat): string {
  for (const [k, v] of vars) {
    if (ENV_FILE_UNSAFE.test(v)) {
      throw new UserError(`profile ${profile}: the value of ${k} contains a line break or NUL, which --format ${format} cannot represent`, {
        hints: ["correct the value (for AWS_REGION: the profile's region or --region), or use --format export-env or json"],
      });
    }
  }
  return vars.map(([k, v]) => `${k}=${v}\n`).join("");
}

export function formatExport(format: ExportFormat, c: Credentials, profile: string, region: string | undefined): string {
  switch (format) {
    case "env":
      return envFileLines(credentialEnvVars(c, region), profile, format);
    case "export-env":
      return credentialEnvVars(c, region).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join("");
    case "json":
      return credentialProcessJson(c);
    case "ini": {
      // The same rule as env: a line break would start a new key or [section].
      envFileLines(credentialEnvVars(c, region), profile, format);
      const lines = [`[${profile}]`, `aws_access_key_id=${c.accessKeyId}`, `aws_secret_access_key=${c.secretAccessKey.reveal()}`];
      if (c.sessionToken && !c.sessionToken.isEmpty()) lines.push(`aws_session_token=${c.sessionToken.reveal()}`);
      if (c.expiration) lines.push(`aws_credential_expiration=${formatIso8601(c.expiration)}`);
      if (region) lines.push(`region=${region}`);
      return `${lines.join("\n")}\n`;
    }
  }
}
