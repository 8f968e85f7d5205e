// Go duration parsing and formatting. Durations are milliseconds (possibly fractional) in this
// program; the parsers work in nanoseconds with BigInt so overflow matches Go's int64 rules.

import { UsageError, UserError } from "../errors.ts";

const NS = 1n;
const US = 1_000n;
const MS = 1_000_000n;
const SECOND = 1_000_000_000n;
const MINUTE = 60n * SECOND;
const HOUR = 60n * MINUTE;
const DAY = 24n * HOUR;
const WEEK = 7n * DAY;

const MAX_UINT63 = 1n << 63n;

const GO_UNITS: ReadonlyMap<string, bigint> = new Map([
  ["ns", NS],
  ["us", US],
  ["\u00b5s", US], // µ (micro sign)
  ["\u03bcs", US], // μ (Greek mu)
  ["ms", MS],
  ["s", SECOND],
  ["m", MINUTE],
  ["h", HOUR],
]);

/** github.com/xhit/go-str2duration/v2 adds days and weeks. */
const FLAG_UNITS: ReadonlyMap<string, bigint> = new Map([...GO_UNITS, ["d", DAY], ["w", WEEK]]);

class DurationSyntaxError extends Error {}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** Go's time.ParseDuration algorithm over a unit table; returns nanoseconds. */
function parseNanos(input: string, units: ReadonlyMap<string, bigint>): bigint {
  const invalid = (): DurationSyntaxError => new DurationSyntaxError(`time: invalid duration ${JSON.stringify(input)}`);
  let s = input;
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();

  let total = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigit(s[0]))) throw invalid();

    let i = 0;
    while (isDigit(s[i])) i++;
    const intDigits = s.slice(0, i);
    s = s.slice(i);
    const hasInt = intDigits !== "";
    let whole = hasInt ? BigInt(intDigits) : 0n;
    if (whole > MAX_UINT63) throw invalid();

    let fracDigits = "";
    let hasFrac = false;
    if (s[0] === ".") {
      s = s.slice(1);
      let j = 0;
      while (isDigit(s[j])) j++;
      fracDigits = s.slice(0, j);
      hasFrac = j > 0;
      s = s.slice(j);
    }
    if (!hasInt && !hasFrac) throw invalid();

    let k = 0;
    while (k < s.length && s[k] !== "." && !isDigit(s[k])) k++;
    if (k === 0) throw new DurationSyntaxError(`time: missing unit in duration ${JSON.stringify(input)}`);
    const unitName = s.slice(0, k);
    s = s.slice(k);
    const unit = units.get(unitName);
    if (unit === undefined) {
      throw new DurationSyntaxError(`time: unknown unit ${JSON.stringify(unitName)} in duration ${JSON.stringify(input)}`);
    }

    if (whole > MAX_UINT63 / unit) throw invalid();
    whole *= unit;
    if (fracDigits !== "") {
      // Go keeps at most the digits that fit in a uint64 and scales with float64.
      const kept = fracDigits.slice(0, 18);
      const fraction = Number(kept) * (Number(unit) / 10 ** kept.length);
      whole += BigInt(Math.trunc(fraction));
      if (whole > MAX_UINT63) throw invalid();
    }
    total += whole;
    if (total > MAX_UINT63) throw invalid();
  }
  if (!neg && total > MAX_UINT63 - 1n) throw invalid();
  return neg ? -total : total;
}

function nanosToMs(ns: bigint): number {
  const wholeMs = ns / MS;
  const rest = ns % MS;
  return Number(wholeMs) + Number(rest) / 1e6;
}

/** Go time.ParseDuration (env vars such as AWS_ASSUME_ROLE_TTL). Returns milliseconds. */
export function parseGoDuration(s: string): number {
  try {
    return nanosToMs(parseNanos(s, GO_UNITS));
  } catch (e) {
    if (e instanceof DurationSyntaxError) throw new UserError(e.message);
    throw e;
  }
}

/** Like parseGoDuration, but returns undefined instead of throwing. */
export function tryParseGoDuration(s: string): number | undefined {
  try {
    return nanosToMs(parseNanos(s, GO_UNITS));
  } catch (e) {
    if (e instanceof DurationSyntaxError) return undefined;
    throw e;
  }
}

/** Durations given as flags (--duration): Go units plus `d` (24h) and `w` (7d). Returns milliseconds. */
export function parseFlagDuration(s: string): number {
  try {
    return nanosToMs(parseNanos(s, FLAG_UNITS));
  } catch (e) {
    if (!(e instanceof DurationSyntaxError)) throw e;
    throw new UsageError(`invalid duration ${JSON.stringify(s)}`, {
      hints: ["use a number followed by a unit, for example 1h, 90m, 8h or 1d (units: ns, us, ms, s, m, h, d, w)"],
      cause: e,
    });
  }
}

const MIN_SESSION_MS = 15 * 60 * 1000;
const MAX_SESSION_MS = 36 * 60 * 60 * 1000;

/**
 * --duration for an STS session: 15m to 36h, the widest range any of GetSessionToken, AssumeRole and
 * GetFederationToken accepts. Checked before any call, so a bad value never costs an MFA code.
 */
export function parseSessionDuration(s: string): number {
  const ms = parseFlagDuration(s);
  if (ms < MIN_SESSION_MS || ms > MAX_SESSION_MS) {
    throw new UsageError(`invalid duration ${JSON.stringify(s)}: AWS sessions last from 15m to 36h`, {
      hints: ["AssumeRole allows at most the role's maximum session duration (1h to 12h), and 1h when chaining roles"],
    });
  }
  return ms;
}

/** Writes v / 10**prec into a digit string, dropping trailing zeros (Go fmtFrac). */
function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let out = "";
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) out = digit.toString() + out;
    v /= 10n;
  }
  return [print ? "." + out : "", v];
}

/** Go Duration.String(): `1h0m0s`, `59m58s`, `-3m2s`, `500ms`, `1.5s`, `0s`. */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`cannot format duration ${ms}`);
  // Whole seconds (list labels a thousand sessions with them): the same text without BigInt.
  if (Number.isSafeInteger(ms) && ms % 1000 === 0 && ms !== 0) {
    const total = Math.abs(ms) / 1000;
    const h = Math.floor(total / 3600);
    const m = Math.floor(total / 60) % 60;
    return `${ms < 0 ? "-" : ""}${h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m` : ""}${total % 60}s`;
  }
  // Whole milliseconds exactly (ms * 1e6 would lose digits past 2^53 ns, about 104 days).
  const whole = Math.trunc(ms);
  let u = BigInt(whole) * MS + BigInt(Math.round((ms - whole) * 1e6));
  const neg = u < 0n;
  if (neg) u = -u;
  let out: string;
  if (u < SECOND) {
    if (u === 0n) return "0s";
    let prec: number;
    let unit: string;
    if (u < US) {
      prec = 0;
      unit = "ns";
    } else if (u < MS) {
      prec = 3;
      unit = "\u00b5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    const [frac, whole] = fmtFrac(u, prec);
    out = whole.toString() + frac + unit;
  } else {
    const [frac, secs] = fmtFrac(u, 9);
    out = (secs % 60n).toString() + frac + "s";
    const mins = secs / 60n;
    if (mins > 0n) {
      out = (mins % 60n).toString() + "m" + out;
      const hours = mins / 60n;
      if (hours > 0n) out = hours.toString() + "h" + out;
    }
  }
  return neg ? "-" + out : out;
}

/** Whole seconds, truncated toward zero, as sent in AWS `DurationSeconds`. */
export function durationSeconds(ms: number): number {
  return Math.trunc(ms / 1000);
}

/** The whole-second count as a string, e.g. 3600000 → "3600" (the `duration_seconds` form). */
export function formatDurationSeconds(ms: number): string {
  return String(durationSeconds(ms));
}
