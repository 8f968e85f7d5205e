// Last line of defence for anything printed: masks values shaped like AWS secrets.

const PATTERNS: Array<[RegExp, (m: string, ...g: string[]) => string]> = [
  // Access key ids: keep the last four characters, as aws-vault's FormatKeyForDisplay does.
  [/\b((?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{12,})\b/g, (m) => maskKeyId(m)],
  // Token-bearing URL and header fragments.
  [/(SigninToken=)[^&\s"]+/gi, (_m, p: string) => `${p}[redacted]`],
  [/(X-Amz-Security-Token=)[^&\s"]+/gi, (_m, p: string) => `${p}[redacted]`],
  [/(Authorization:\s*)\S+/gi, (_m, p: string) => `${p}[redacted]`],
  // 40-character secret access keys (random base64: upper, lower and digits; a plain path rarely is).
  [/(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, () => "[redacted]"],
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
