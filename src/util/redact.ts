// Last line of defence for anything printed: masks values shaped like AWS secrets.

const REDACTED = "[redacted]";

/** Base64-ish characters of secret keys and session tokens. */
const B64 = "A-Za-z0-9/+";

const PATTERNS: Array<[RegExp, (m: string, ...g: string[]) => string]> = [
  // Access key ids: keep the last four characters, as aws-vault's FormatKeyForDisplay does.
  [/\b((?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{12,})\b/g, (m) => maskKeyId(m)],
  // Token-bearing URL and header fragments.
  [/(SigninToken=)[^&\s"]+/gi, (_m, p: string) => `${p}${REDACTED}`],
  [/(X-Amz-Security-Token=)[^&\s"]+/gi, (_m, p: string) => `${p}${REDACTED}`],
  [/(Authorization:\s*)\S+/gi, (_m, p: string) => `${p}${REDACTED}`],
  // Named secrets, whatever their shape: env/ini assignments (`AWS_SESSION_TOKEN=…`,
  // `aws_secret_access_key = …`) and JSON or header fields (`"SessionToken": "…"`).
  [
    /\b((?:aws_)?(?:secret_access_key|session_token|security_token)\s*[=:]\s*)(["']?)[^\s"',;&]+/gi,
    (_m, p: string, q: string) => `${p}${q}${REDACTED}`,
  ],
  [
    /("?(?:SecretAccessKey|SessionToken|SecurityToken|secretAccessKey|sessionToken|Token)"?\s*[:=]\s*")[^"]+/g,
    (_m, p: string) => `${p}${REDACTED}`,
  ],
  // Session tokens: long base64 runs (100+ characters, mixed case and digits).
  [new RegExp(`(?<![${B64}])(?=[${B64}]*[A-Z])(?=[${B64}]*[a-z])(?=[${B64}]*[0-9])[${B64}]{100,}={0,2}(?![${B64}=])`, "g"), () => REDACTED],
  // 40-character secret access keys (random base64: upper, lower and digits; a plain path rarely is).
  // `=` may precede one (`KEY=<secret>`) but not follow it.
  [new RegExp(`(?<![${B64}])(?=[${B64}]*[A-Z])(?=[${B64}]*[a-z])(?=[${B64}]*[0-9])[${B64}]{40}(?![${B64}=])`, "g"), () => REDACTED],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, fn] of PATTERNS) out = out.replace(re, fn as (m: string) => string);
  return out;
}

/** `****************` plus the last four characters (aws-vault FormatKeyForDisplay), safe on short ids. */
export function maskKeyId(id: string): string {
  return `****************${id.length >= 4 ? id.slice(-4) : ""}`;
}
