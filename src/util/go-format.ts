// Byte-exact renderings of Go standard-library formats that aws-vault prints or stores.

/** Go encoding/json string encoding: escapes <, >, & and U+2028/U+2029 as \uXXXX (HTML-safe default). */
export function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** JSON for an object whose fields are written in the given order, with Go's string escaping. */
export function goJsonObject(fields: Array<[string, string | number | boolean | null]>): string {
  const parts = fields.map(([k, v]) => `${goJsonString(k)}:${typeof v === "string" ? goJsonString(v) : JSON.stringify(v)}`);
  return `{${parts.join(",")}}`;
}

/** Go's %q (strconv.Quote) for strings: ASCII escapes, printable Unicode kept. */
export function goQuote(s: string): string {
  const named: Record<string, string> = {
    "\u0007": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u000b": "\\v",
    '"': '\\"', "\\": "\\\\",
  };
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const esc = named[ch];
    if (esc !== undefined) out += esc;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** aws-vault's iso8601.Format: RFC3339 in UTC without fractional seconds. */
export function formatIso8601(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Go time.Time JSON (RFC3339Nano in UTC; trailing zeros of the fraction dropped). */
export function goTimeJson(d: Date): string {
  const iso = d.toISOString();
  return iso.replace(/\.(\d{3})Z$/, (_m, frac: string) => {
    const trimmed = frac.replace(/0+$/, "");
    return trimmed ? `.${trimmed}Z` : "Z";
  });
}

/** Go Time.String() in UTC, without the monotonic clock part: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export function goTimeString(d: Date): string {
  const iso = d.toISOString(); // 2006-01-02T15:04:05.123Z
  const date = iso.slice(0, 10);
  const time = iso.slice(11, 19);
  const frac = iso.slice(20, 23).replace(/0+$/, "");
  return `${date} ${time}${frac ? `.${frac}` : ""} +0000 UTC`;
}
