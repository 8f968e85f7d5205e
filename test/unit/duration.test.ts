import { describe, expect, it } from "vitest";
import { UsageError, UserError } from "../../src/errors.ts";
import {
  durationSeconds,
  formatDurationSeconds,
  formatGoDuration,
  parseFlagDuration,
  parseGoDuration,
  tryParseGoDuration,
} from "../../src/util/duration.ts";

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe("parseGoDuration", () => {
  it.each([
    ["0", 0],
    ["+0", 0],
    ["-0", 0],
    ["1h", H],
    ["90m", 90 * M],
    ["8h", 8 * H],
    ["1h30m", H + 30 * M],
    ["1.5h", 1.5 * H],
    ["-3m2s", -(3 * M + 2 * S)],
    ["+5s", 5 * S],
    ["500ms", 500],
    ["1us", 0.001],
    ["1\u00b5s", 0.001],
    ["1\u03bcs", 0.001],
    ["1000000ns", 1],
    [".5s", 500],
    ["5.s", 5 * S],
    ["1h1m1s1ms", H + M + S + 1],
    ["0.000000001s", 0.000001],
    ["2562047h47m16.854775807s", 9223372036854.775],
  ])("parses %s", (input, ms) => {
    expect(parseGoDuration(input)).toBeCloseTo(ms, 6);
  });

  it.each(["", "1", "h", "1d", "1w", "-", ".", ".s", "1hx", "1 h", " 1h", "1h ", "3600", "2562047h47m16.854775808s", "9999999999999999999h", "1e3s"])(
    "rejects %j",
    (input) => {
      expect(() => parseGoDuration(input)).toThrow(UserError);
      expect(tryParseGoDuration(input)).toBeUndefined();
    },
  );

  it("uses Go's error messages", () => {
    expect(() => parseGoDuration("1")).toThrow('time: missing unit in duration "1"');
    expect(() => parseGoDuration("1d")).toThrow('time: unknown unit "d" in duration "1d"');
    expect(() => parseGoDuration("x")).toThrow('time: invalid duration "x"');
  });
});

describe("parseFlagDuration", () => {
  it.each([
    ["1d", 24 * H],
    ["1w", 7 * 24 * H],
    ["1w2d3h", (9 * 24 + 3) * H],
    ["1.5d", 36 * H],
    ["90m", 90 * M],
    ["0", 0],
  ])("parses %s", (input, ms) => {
    expect(parseFlagDuration(input)).toBe(ms);
  });

  it("throws UsageError with examples", () => {
    let caught: unknown;
    try {
      parseFlagDuration("1y");
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UsageError);
    const err = caught as UsageError;
    expect(err.message).toBe('invalid duration "1y"');
    expect(err.hints.join(" ")).toMatch(/1h.*90m.*8h.*1d/);
  });

  it("rejects a bare number", () => {
    expect(() => parseFlagDuration("3600")).toThrow(UsageError);
  });
});

describe("formatGoDuration", () => {
  it.each([
    [H, "1h0m0s"],
    [59 * M + 58 * S, "59m58s"],
    [-(3 * M + 2 * S), "-3m2s"],
    [500, "500ms"],
    [0, "0s"],
    [1500, "1.5s"],
    [8 * H, "8h0m0s"],
    [36 * H + 1, "36h0m0.001s"],
    [0.001, "1\u00b5s"],
    [0.0015, "1.5\u00b5s"],
    [0.000001, "1ns"],
    [1.25, "1.25ms"],
    [-500, "-500ms"],
    [61 * S, "1m1s"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });

  it("round-trips with parseGoDuration", () => {
    for (const ms of [H, 90 * M, 1500, 500, 59 * M + 58 * S, -(3 * M + 2 * S)]) {
      expect(parseGoDuration(formatGoDuration(ms))).toBe(ms);
    }
  });
});

describe("duration seconds", () => {
  it("truncates to whole seconds", () => {
    expect(durationSeconds(H)).toBe(3600);
    expect(durationSeconds(1999)).toBe(1);
    expect(formatDurationSeconds(H)).toBe("3600");
    expect(formatDurationSeconds(900_500)).toBe("900");
  });
});

describe("parseSessionDuration", () => {
  it("accepts 15m to 36h, with d and w units, and refuses the rest before any call", async () => {
    const { parseSessionDuration } = await import("../../src/util/duration.ts");
    expect(parseSessionDuration("15m")).toBe(900_000);
    expect(parseSessionDuration("8h")).toBe(28_800_000);
    expect(parseSessionDuration("1d")).toBe(86_400_000);
    expect(parseSessionDuration("36h")).toBe(129_600_000);
    expect(() => parseSessionDuration("10m")).toThrow(/invalid duration "10m": AWS sessions last from 15m to 36h/);
    expect(() => parseSessionDuration("2d")).toThrow(/from 15m to 36h/);
    expect(() => parseSessionDuration("forever")).toThrow(/invalid duration "forever"/);
  });
});
