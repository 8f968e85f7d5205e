// The shared credentials file (~/.aws/credentials) read line by line, so that `import --scrub` can
// remove exactly the key lines and keep every other byte (comments, order, line endings).
// Sections are `[name]`; keys are `key = value` (case-insensitive names); indented lines continue
// the key before them; `#` and `;` start comments. Anything else is an error naming file and line.
// Sections and keys live in Maps, so any name (`__proto__` too) is an ordinary name.
import { ConfigError } from "../errors.ts";

export interface CredLine {
  /** The line with its own terminator ("\n", "\r\n", "\r" or "" for the last). */
  raw: string;
  /** 1-based. */
  lineNo: number;
  kind: "blank" | "comment" | "header" | "key" | "nested";
  /** The section the line belongs to (undefined before the first header). */
  section?: string;
  /** For "key": the lower-cased name and the trimmed value. */
  key?: string;
  value?: string;
}

export interface CredSection {
  name: string;
  /** Line of the first header. */
  line: number;
  /** key → value and line (the last occurrence wins, as the AWS CLI reads it). */
  values: Map<string, { value: string; line: number }>;
}

export interface CredentialsFile {
  path: string;
  lines: CredLine[];
  sections: CredSection[];
}

export const KEY_ID = "aws_access_key_id";
export const SECRET = "aws_secret_access_key";
export const TOKEN_KEYS = ["aws_session_token", "aws_security_token"];

/** Splits text into lines that keep their terminators; joining them gives the text back. */
export function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n" || c === "\r") {
      const end = c === "\r" && text[i + 1] === "\n" ? i + 2 : i + 1;
      out.push(text.slice(start, end));
      start = end;
      i = end - 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

export function parseCredentialsFile(text: string, path: string): CredentialsFile {
  const fail = (line: number, detail: string, hint?: string) =>
    new ConfigError(`${path}:${line}: ${detail}`, { hints: [hint ?? "fix the line (or remove it) and run the command again"] });
  const lines: CredLine[] = [];
  const sections = new Map<string, CredSection>();
  let current: string | undefined;
  let lastWasKey = false;
  splitLines(text).forEach((raw, index) => {
    const lineNo = index + 1;
    const body = (index === 0 ? raw.replace(/^\uFEFF/, "") : raw).replace(/[\r\n]+$/, "");
    const trimmed = body.trim();
    if (trimmed === "") {
      lines.push({ raw, lineNo, kind: "blank", ...(current !== undefined ? { section: current } : {}) });
      return;
    }
    if (trimmed[0] === "#" || trimmed[0] === ";") {
      lines.push({ raw, lineNo, kind: "comment", ...(current !== undefined ? { section: current } : {}) });
      return;
    }
    if (trimmed[0] === "[") {
      const close = trimmed.indexOf("]");
      const name = close < 0 ? "" : trimmed.slice(1, close).trim();
      if (close < 0) throw fail(lineNo, "unterminated section header");
      if (name === "") throw fail(lineNo, "empty section name");
      current = name;
      lastWasKey = false;
      if (!sections.has(name)) sections.set(name, { name, line: lineNo, values: new Map() });
      lines.push({ raw, lineNo, kind: "header", section: name });
      return;
    }
    if ((body[0] === " " || body[0] === "\t") && lastWasKey) {
      lines.push({ raw, lineNo, kind: "nested", ...(current !== undefined ? { section: current } : {}) });
      return;
    }
    const eq = trimmed.indexOf("=");
    if (eq <= 0) throw fail(lineNo, `expected "key = value" or "[section]", got a line without "="`);
    if (current === undefined) throw fail(lineNo, "a key before the first [section]", "put it under a [profile] header");
    const key = trimmed.slice(0, eq).trim().toLowerCase();
    const value = trimmed.slice(eq + 1).trim();
    (sections.get(current) as CredSection).values.set(key, { value, line: lineNo });
    lastWasKey = true;
    lines.push({ raw, lineNo, kind: "key", section: current, key, value });
  });
  return { path, lines, sections: [...sections.values()] };
}

/**
 * The file without the key-id and secret lines of `profiles` (only where the values are still the
 * ones given), and without a section header left with no keys. Every other line is kept as is.
 */
export function scrubbedText(file: CredentialsFile, profiles: Map<string, { accessKeyId: string; secret: string }>): { text: string; scrubbed: string[] } {
  const drop = new Set<number>();
  const scrubbed = new Set<string>();
  // A section is scrubbed only when every key-id and secret line in it still holds the verified
  // values: removing one line of a changed pair would lose the key now in the file.
  for (const [name, want] of profiles) {
    const keyLines = file.lines.filter((l) => l.kind === "key" && l.section === name && (l.key === KEY_ID || l.key === SECRET));
    const matches = keyLines.every((l) => (l.key === KEY_ID ? l.value === want.accessKeyId : l.value === want.secret));
    if (!matches || !keyLines.some((l) => l.key === KEY_ID) || !keyLines.some((l) => l.key === SECRET)) continue;
    for (const l of keyLines) drop.add(l.lineNo);
    scrubbed.add(name);
  }
  // Headers of sections left without any key (their comments stay).
  for (const l of file.lines) {
    if (l.kind !== "header" || !scrubbed.has(l.section as string)) continue;
    const left = file.lines.some((o) => o.section === l.section && (o.kind === "key" || o.kind === "nested") && !drop.has(o.lineNo));
    if (!left) drop.add(l.lineNo);
  }
  return { text: file.lines.filter((l) => !drop.has(l.lineNo)).map((l) => l.raw).join(""), scrubbed: [...scrubbed] };
}
