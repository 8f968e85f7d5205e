// Issue 9 item 6: the debug logger and error rendering of both artifacts run everything through
// redact(). A profile named like a secret key reaches both a debug line and an error message.
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox } from "../support/cli.ts";

const SECRET_SHAPED = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY3XAMPLEKEY";
const TOKEN_SHAPED = `FwoGZXIvYXdzEBYaDHhBTEXAMPLE7u2lH8dFzyKGAR8h3jKl0qIm9k3EXAMPLEt0k3n/uN5+BUvE6Wjpq7Rk2ZQ1y3Xo8yT4cE0mP9sL2aB7nQ4vW1xZ6kJ3dF5gH8iR0`;

describe.each(ARTIFACTS)("redaction in printed text ($name)", (artifact) => {
  it.each([
    ["a secret key", SECRET_SHAPED],
    ["a session token", TOKEN_SHAPED],
  ])("debug lines and the error mask %s", async (_what, name) => {
    const sb = sandbox();
    writeFileSync(sb.configPath, `[profile a]\nsource_profile = ${name}\n\n[profile ${name}]\nregion = us-east-1\n`);
    const r = await run(artifact, ["--debug", "export", "a"], { env: sb.env });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(name.slice(0, 30));
    expect(r.stderr).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d profile a: sourcing credentials from profile \[redacted\]$/m);
    expect(r.stderr).toContain("aws-vault: error: export: profile [redacted]: credentials missing\n");
  });
});
