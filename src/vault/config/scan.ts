// Loading only what one profile needs from a big ~/.aws/config, with the same parser and the same
// results. A pre-scan walks the text once without building anything: it finds every section's byte
// ranges (a repeated header has several), records ignored headers, and checks that no line would
// make parseIni fail. Then the requested profile, [default], and every section reachable from them
// through include_profile, source_profile, sso_session and services (by name, in any kind) are cut
// out in file order and handed to parseIni. Lookups by name (all that profile resolution does)
// therefore see exactly the sections a full parse would give, merged in the same order; the
// resulting ConfigFile is only for resolving that profile (profileNames() would list the subset).
//
// Whenever the scan is not sure, it parses the whole file instead: a line parseIni would reject (so
// the error, with its line number, is exactly the full parse's), a carriage return (other line
// breaks), an indented `[` (a header or nested text, depending on the line before), or any character
// outside printable ASCII in a key.
import { readFileSync } from "node:fs";
import { classifyHeader, type IniSectionKind, isPlainHeader, parseIni } from "./ini.ts";
import { ConfigFile, configReadError } from "./loader.ts";

/** Keys whose value names another section. */
const REFERENCE_KEYS = ["include_profile", "source_profile", "sso_session", "services"] as const;

interface Scan {
  /** Section name (without kind prefix; "default" for [default]) → [start, end) ranges in file order. */
  ranges: Map<string, Array<[number, number]>>;
  /** Every recognised header in file order (when asked for): its kind, where its line ends, its range. */
  headers: Array<{ kind: IniSectionKind; lineEnd: number; range: [number, number] }>;
  ignored: string[];
}

/**
 * A line parseIni might reject, or whose handling these fast checks do not model: anything but a
 * blank line, a comment, a header at the start of a line (checked one by one below) or a plain-ASCII
 * `key =`/`key:` line with a non-empty key. Values are not looked at: parseIni accepts any value.
 * (Indented lines under an empty value are nested text, which parseIni never rejects; flagging them
 * here only costs a full parse.)
 */
const SUSPICIOUS_LINE =
  /^(?![ \t]*(?:$|[#;]|[\x21\x22\x24-\x39\x3c\x3e-\x5a\x5c-\x7e][\t\x20-\x39\x3b\x3c\x3e-\x7e]*[=:])|\[)/m;
/** An indented `[`: a header, or nested text under an empty value, depending on the line before. */
const INDENTED_BRACKET = /^[ \t]+\[/m;

/**
 * One pass over the text. Undefined means "parse the whole file": a line parseIni would reject,
 * or text the fast checks do not cover (other line breaks than \n, which ^ and $ would not match
 * as parseIni splits).
 */
function scan(text: string, withHeaders = false): Scan | undefined {
  if (text.includes("\r") || text.includes("\u2028") || text.includes("\u2029")) return undefined;
  if (SUSPICIOUS_LINE.test(text) || INDENTED_BRACKET.test(text)) return undefined;
  const ranges = new Map<string, Array<[number, number]>>();
  const headers: Scan["headers"] = [];
  const ignored: string[] = [];
  let open: [number, number] | undefined; // the current section's range; its end is set at the next header
  // Lines starting with `[` (\n is the only line break left).
  let end = 0; // the end of the current header's line
  for (let at = text.startsWith("[") ? 0 : nextHeader(text, 0); at !== -1; at = nextHeader(text, end)) {
    end = text.indexOf("\n", at);
    if (end === -1) end = text.length;
    // As parseIni: the trimmed line, the text between `[` and the last `]`, untrimmed.
    const trimmed = text.slice(at, end).trim();
    const close = trimmed.lastIndexOf("]");
    if (close < 0) return undefined;
    const header = trimmed.slice(1, close);
    if (header === "") return undefined;
    if (open) open[1] = at;
    open = undefined;
    // The plain header without building anything (a 100,000-profile file has 100,000 of them).
    const name = isPlainHeader(header) ? header.slice(header.indexOf(" ") + 1) : classifyHeader(header)?.name;
    if (name === undefined) {
      ignored.push(header);
      continue;
    }
    open = [at, text.length];
    if (withHeaders) headers.push({ kind: (classifyHeader(header) as { kind: IniSectionKind }).kind, lineEnd: end, range: open });
    const list = ranges.get(name);
    if (list) list.push(open);
    else ranges.set(name, [open]);
  }
  return { ranges, headers, ignored };
}

/** Where the next line starting with `[` starts, searching from `from`; -1 when none. */
function nextHeader(text: string, from: number): number {
  const i = text.indexOf("\n[", from);
  return i === -1 ? -1 : i + 1;
}

/** The sections reachable from `profile`, as text cut from the file in file order. */
function closureText(text: string, s: Scan, profile: string): string {
  const wanted = new Set<string>();
  const ranges: Array<[number, number]> = [];
  const want = (name: string): void => {
    if (wanted.has(name)) return;
    wanted.add(name);
    const rs = s.ranges.get(name);
    if (!rs) return;
    ranges.push(...rs);
    // The values that name other sections, as the parser will read them (last value wins).
    const doc = parseIni(rs.map(([a, b]) => text.slice(a, b)).join("\n"), "");
    for (const section of doc.sections) {
      for (const key of REFERENCE_KEYS) {
        const v = section.values[key];
        if (v) want(v);
      }
    }
  };
  want(profile);
  want("default");
  ranges.sort((a, b) => a[0] - b[0]);
  return ranges.map(([a, b]) => text.slice(a, b)).join("\n");
}

/**
 * The config as profile resolution for `profile` sees it (flags and environment are applied later,
 * by ConfigLoader). A missing file is an empty config, as ConfigFile.load.
 */
export async function loadConfigFor(path: string, profile: string): Promise<ConfigFile> {
  const text = readConfigText(path);
  return text === undefined ? ConfigFile.empty(path) : configForProfile(text, path, profile);
}

/** The file's text; undefined when it does not exist. */
function readConfigText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8"); // synchronous: one read, no thread-pool round trip
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw configReadError(path, e);
  }
}

/** loadConfigFor on text already read (tests compare it with ConfigFile.fromText). */
export function configForProfile(text: string, path: string, profile: string): ConfigFile {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const s = scan(body);
  if (!s) return ConfigFile.fromText(text, path);
  const doc = parseIni(closureText(body, s, profile), path);
  return new ConfigFile({ fileName: path, sections: doc.sections, ignoredSections: s.ignored });
}

/**
 * The config as `list` reads it when no SSO token is stored: every section's header in file order,
 * and [default] whole (its profile is listed only when it sets something), but no other section's
 * values. A file that mentions `login_session` (shown per profile), or that the scan is not sure
 * of, is parsed whole.
 */
export async function loadConfigForList(path: string): Promise<ConfigFile> {
  const text = readConfigText(path);
  return text === undefined ? ConfigFile.empty(path) : configForList(text, path);
}

/** loadConfigForList on text already read (tests compare it with ConfigFile.fromText). */
export function configForList(text: string, path: string): ConfigFile {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const s = body.includes("login_session") ? undefined : scan(body, true);
  if (!s) return ConfigFile.fromText(text, path);
  const parts = s.headers.map((h) => body.slice(h.range[0], h.kind === "default" ? h.range[1] : h.lineEnd));
  const doc = parseIni(parts.join("\n"), path);
  return new ConfigFile({ fileName: path, sections: doc.sections, ignoredSections: s.ignored });
}
