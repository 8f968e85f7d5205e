// A hardened parser for ~/.aws/config (go-ini semantics as aws-vault configures them: case-sensitive
// sections, case-insensitive keys, nested values, `#`/`;` comments, inline comments only after
// whitespace). All maps are null-prototype; `__proto__`-style names are rejected.

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
  /** Lower-cased key → its nested `k = v` lines (e.g. `sts =\n  endpoint_url = …`). */
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

const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
const SNIPPET_MAX = 40;

const SECTION_PREFIXES: ReadonlyArray<[string, IniSectionKind]> = [
  ["profile ", "profile"],
  ["sso-session ", "sso-session"],
  ["services ", "services"],
];

export function isForbiddenName(name: string): boolean {
  return FORBIDDEN_NAMES.has(name);
}

function snippet(text: string): string {
  const safe = redact(text);
  const short = safe.length > SNIPPET_MAX ? `${safe.slice(0, SNIPPET_MAX)}...` : safe;
  return JSON.stringify(short);
}

function classifyHeader(header: string): { kind: IniSectionKind; name: string } | undefined {
  if (header === "default") return { kind: "default", name: "default" };
  for (const [prefix, kind] of SECTION_PREFIXES) {
    if (header.startsWith(prefix)) {
      const name = header.slice(prefix.length).trim();
      return name === "" ? undefined : { kind, name };
    }
  }
  return undefined;
}

function isCommentStart(c: string | undefined): boolean {
  return c === "#" || c === ";";
}

/** Trims, strips an inline comment (`#`/`;` after whitespace) and one pair of surrounding quotes. */
function cleanValue(raw: string): string {
  let v = raw.trim();
  for (let i = 1; i < v.length; i++) {
    if (isCommentStart(v[i]) && /\s/.test(v[i - 1] ?? "")) {
      v = v.slice(0, i).trimEnd();
      break;
    }
  }
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) v = v.slice(1, -1);
  return v;
}

/** Splits `key = value` (or go-ini's `key: value`) at the first delimiter. */
function splitKeyValue(line: string): { key: string; value: string } | undefined {
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
  const lines = body.split(/\r\n|\n|\r/);

  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const raw = lines[index] ?? "";
    const trimmed = raw.trim();
    if (trimmed === "" || isCommentStart(trimmed[0])) continue;

    if (nestedKey !== undefined && (raw[0] === " " || raw[0] === "\t") && trimmed[0] !== "[") {
      const kv = splitKeyValue(trimmed);
      if (kv === undefined || kv.key === "") {
        throw fail(lineNo, `expected a nested "key = value" under "${nestedKey}", got ${snippet(trimmed)}`);
      }
      if (isForbiddenName(kv.key)) throw fail(lineNo, `invalid key name ${snippet(kv.key)}`);
      if (current !== undefined) {
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
      const header = trimmed.slice(1, close).trim();
      if (header === "") throw fail(lineNo, "empty section name");
      const kind = classifyHeader(header);
      if (kind === undefined) {
        ignoredSections.push(header);
        current = undefined;
        continue;
      }
      if (isForbiddenName(kind.name)) throw fail(lineNo, `invalid section name ${snippet(kind.name)}`);
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
    if (isForbiddenName(kv.key)) throw fail(lineNo, `invalid key name ${snippet(kv.key)}`);
    if (current !== undefined) {
      current.values[kv.key] = kv.value;
      delete current.nested[kv.key];
    }
    if (kv.value === "") nestedKey = kv.key;
  }

  return { fileName, sections, ignoredSections };
}
