// A hardened parser for ~/.aws/config. It follows aws-vault (go-ini as aws-vault configures it:
// case-sensitive sections, case-insensitive keys, nested values, `#`/`;` comments, inline comments
// only after whitespace), except where go-ini and the AWS CLI (botocore's configloader over
// Python's RawConfigParser) disagree: there it follows the AWS CLI, since users share the file with
// it. Each such case is listed in docs/compatibility.md and tested in test/unit/config-ini.test.ts:
// - section headers are classified as botocore's build_profile_map does: `[default]` exactly, or a
//   header starting with `profile`/`sso-session`/`services` split like a shell line (shlex) into
//   exactly two words; whitespace inside the brackets is not trimmed (`[ default]` is not default);
// - no `[a.b]` inheritance from `[a]`, no `%(key)s` interpolation, no backquoted or triple-quoted
//   values, no backslash line joins, no quoted key names: all of these are literal text.
// Any name is an ordinary name (`__proto__`, `constructor`): every map is null-prototype.

import { ConfigError } from "../../errors.ts";
import { redact } from "../../util/redact.ts";

export type IniSectionKind = "default" | "profile" | "sso-session" | "services";

export interface IniSection {
  readonly kind: IniSectionKind;
  /** "default" for `[default]`, otherwise the text after the kind prefix. */
  readonly name: string;
  /** 1-based line of the first header for this section. */
  readonly line: number;
  /** Lower-cased key → trimmed value. A key with nested values has the value "". */
  readonly values: Readonly<Record<string, string>>;
  /**
   * Lower-cased key → its nested `k = v` lines (e.g. `sts =\n  endpoint_url = …`). Other indented
   * lines under an empty value are nested text and are not kept.
   */
  readonly nested: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface IniDocument {
  readonly fileName: string;
  /** Recognised sections in file order; repeated headers are merged into the first. */
  readonly sections: readonly IniSection[];
  /** Headers of sections that were ignored (e.g. `DEFAULT`, `preview`), in file order. */
  readonly ignoredSections: readonly string[];
}

interface MutableSection {
  kind: IniSectionKind;
  name: string;
  line: number;
  values: Record<string, string>;
  nested: Record<string, Record<string, string>>;
}

const SNIPPET_MAX = 40;

/** botocore tests these prefixes in this order with `startswith`. */
const SECTION_PREFIXES: ReadonlyArray<[string, IniSectionKind]> = [
  ["profile", "profile"],
  ["sso-session", "sso-session"],
  ["services", "services"],
];

/** `profile NAME` (or sso-session/services) where shell-splitting can only give the two words as written. */
const PLAIN_HEADER = /^(?:profile|sso-session|services) [A-Za-z0-9_.@+=,:/%-]+$/;

/** A header classifyHeader reads as `<kind> <name>` exactly as written (the pre-scan's fast path too). */
export function isPlainHeader(header: string): boolean {
  return PLAIN_HEADER.test(header);
}

const SHELL_SPACE = new Set([" ", "\t", "\r", "\n"]);

/**
 * Splits a line into words as Python's `shlex.split` does (POSIX mode): whitespace separates words,
 * `'…'` is literal, `"…"` honours `\\` and `\"`, a backslash outside quotes escapes the next
 * character. Returns undefined where shlex raises (an unclosed quote, a trailing backslash).
 */
export function shellSplit(text: string): string[] | undefined {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (SHELL_SPACE.has(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return undefined;
      word += text.slice(i + 1, close);
      inWord = true;
      i = close;
    } else if (c === '"') {
      inWord = true;
      for (i++; ; i++) {
        if (i >= text.length) return undefined;
        const d = text[i] as string;
        if (d === '"') break;
        if (d === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) word += text[++i];
        else word += d;
      }
    } else if (c === "\\") {
      if (i + 1 >= text.length) return undefined;
      word += text[++i];
      inWord = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** True if `[kind name]` reads back as exactly that name without quoting. */
export function isPlainSectionName(name: string): boolean {
  const words = shellSplit(name);
  return words !== undefined && words.length === 1 && words[0] === name;
}

function snippet(text: string): string {
  const safe = redact(text);
  const short = safe.length > SNIPPET_MAX ? `${safe.slice(0, SNIPPET_MAX)}...` : safe;
  return JSON.stringify(short);
}

/** botocore's build_profile_map/_parse_section: the header text between the brackets, untrimmed. */
export function classifyHeader(header: string): { kind: IniSectionKind; name: string } | undefined {
  if (header === "default") return { kind: "default", name: "default" };
  // The common header, whose two shell words are exactly as written (no quote, escape or space).
  if (isPlainHeader(header)) {
    const space = header.indexOf(" ");
    return { kind: header.slice(0, space) as IniSectionKind, name: header.slice(space + 1) };
  }
  for (const [prefix, kind] of SECTION_PREFIXES) {
    if (header.startsWith(prefix)) {
      const words = shellSplit(header);
      return words !== undefined && words.length === 2 ? { kind, name: words[1] as string } : undefined;
    }
  }
  return undefined;
}

function isCommentStart(c: string | undefined): boolean {
  return c === "#" || c === ";";
}

/**
 * Trims, strips an inline comment (`#`/`;` after whitespace) and one pair of surrounding `"` or `'`
 * when that quote appears nowhere else in the value (go-ini's rule; `"""v"""` stays as written).
 */
function cleanValue(raw: string): string {
  let v = raw.trim();
  // The first `#` or `;` after whitespace starts a comment.
  const comment = v.includes("#") || v.includes(";") ? v.search(/\s[#;]/) : -1;
  if (comment !== -1) v = v.slice(0, comment + 1).trimEnd();
  const q = v[0];
  if (v.length >= 2 && (q === '"' || q === "'") && v.indexOf(q, 1) === v.length - 1) v = v.slice(1, -1);
  return v;
}

/** Splits `key = value` (or go-ini's `key: value`) at the first delimiter. */
export function splitKeyValue(line: string): { key: string; value: string } | undefined {
  const eq = line.indexOf("=");
  const colon = line.indexOf(":");
  const at = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
  if (at < 0) return undefined;
  return { key: line.slice(0, at).trim().toLowerCase(), value: cleanValue(line.slice(at + 1)) };
}

/** Parses config text. Throws ConfigError naming the file and line for malformed input. */
export function parseIni(text: string, fileName: string): IniDocument {
  const fail = (line: number, detail: string): ConfigError =>
    new ConfigError(`Error parsing config file ${fileName}: line ${line}: ${detail}`);

  const sections: MutableSection[] = [];
  const byHeader = new Map<string, MutableSection>();
  const ignoredSections: string[] = [];

  // undefined before the first section and inside ignored sections: lines are checked, then dropped.
  let current: MutableSection | undefined;
  // The key whose empty value opened a block of indented nested lines.
  let nestedKey: string | undefined;

  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const lines = body.includes("\r") ? body.split(/\r\n|\n|\r/) : body.split("\n");

  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const raw = lines[index] ?? "";
    const trimmed = raw.trim();
    if (trimmed === "" || isCommentStart(trimmed[0])) continue;

    if (nestedKey !== undefined && (raw[0] === " " || raw[0] === "\t")) {
      // An indented line under a key with an empty value is nested text, whatever it looks like
      // (`  bare`, `  [profile b]`): as go-ini nests it. Only `k = v` lines become nested values.
      const kv = splitKeyValue(trimmed);
      if (kv !== undefined && kv.key !== "" && current !== undefined) {
        let block = current.nested[nestedKey];
        if (block === undefined) {
          block = Object.create(null) as Record<string, string>;
          current.nested[nestedKey] = block;
        }
        block[kv.key] = kv.value;
      }
      continue;
    }
    nestedKey = undefined;

    if (trimmed[0] === "[") {
      const close = trimmed.lastIndexOf("]");
      if (close < 0) throw fail(lineNo, `unterminated section header ${snippet(trimmed)}`);
      const header = trimmed.slice(1, close);
      if (header === "") throw fail(lineNo, "empty section name");
      const kind = classifyHeader(header);
      if (kind === undefined) {
        ignoredSections.push(header);
        current = undefined;
        continue;
      }
      const headerKey = `${kind.kind} ${kind.name}`;
      let section = byHeader.get(headerKey);
      if (section === undefined) {
        section = {
          kind: kind.kind,
          name: kind.name,
          line: lineNo,
          values: Object.create(null) as Record<string, string>,
          nested: Object.create(null) as Record<string, Record<string, string>>,
        };
        byHeader.set(headerKey, section);
        sections.push(section);
      }
      current = section;
      continue;
    }

    const kv = splitKeyValue(trimmed);
    if (kv === undefined) throw fail(lineNo, `expected "key = value" or "[section]", got ${snippet(trimmed)}`);
    if (kv.key === "") throw fail(lineNo, 'missing key name before "="');
    if (current !== undefined) {
      current.values[kv.key] = kv.value;
      if (kv.key in current.nested) delete current.nested[kv.key];
    }
    if (kv.value === "") nestedKey = kv.key;
  }

  return { fileName, sections, ignoredSections };
}
