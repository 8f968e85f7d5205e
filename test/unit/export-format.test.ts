// Byte-exact outputs, checked against what aws-vault v7.2.0 printed (shared/vectors/outputs-aws-vault-v7.2.0).
import { describe, expect, it } from "vitest";
import { renderTable, sessionLabel } from "../../src/cli/list.ts";
import { Secret } from "../../src/util/secret.ts";
import { childEnvironment } from "../../src/vault/child-env.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import { formatExport } from "../../src/vault/export-format.ts";

const temp: Credentials = {
  accessKeyId: "ASIA-KEY-ID",
  secretAccessKey: new Secret("TEMP-SECRET"),
  sessionToken: new Secret("SESSION-TOKEN"),
  expiration: new Date("2026-11-22T10:00:00.123Z"),
};
const master: Credentials = { accessKeyId: "AKIA-KEY-ID", secretAccessKey: new Secret("MASTER-SECRET") };

describe("export formats", () => {
  it("env", () => {
    expect(formatExport("env", temp, "admin", "us-east-1")).toBe(
      "AWS_ACCESS_KEY_ID=ASIA-KEY-ID\nAWS_SECRET_ACCESS_KEY=TEMP-SECRET\nAWS_SESSION_TOKEN=SESSION-TOKEN\n" +
        "AWS_CREDENTIAL_EXPIRATION=2026-11-22T10:00:00Z\nAWS_REGION=us-east-1\nAWS_DEFAULT_REGION=us-east-1\n",
    );
    expect(formatExport("env", master, "alice", "us-east-1")).toBe(
      "AWS_ACCESS_KEY_ID=AKIA-KEY-ID\nAWS_SECRET_ACCESS_KEY=MASTER-SECRET\nAWS_REGION=us-east-1\nAWS_DEFAULT_REGION=us-east-1\n",
    );
    expect(formatExport("env", master, "alice", undefined)).toBe("AWS_ACCESS_KEY_ID=AKIA-KEY-ID\nAWS_SECRET_ACCESS_KEY=MASTER-SECRET\n");
  });

  it("export-env", () => {
    expect(formatExport("export-env", temp, "admin", "us-east-1")).toBe(
      "export AWS_ACCESS_KEY_ID=ASIA-KEY-ID\nexport AWS_SECRET_ACCESS_KEY=TEMP-SECRET\nexport AWS_SESSION_TOKEN=SESSION-TOKEN\n" +
        "export AWS_CREDENTIAL_EXPIRATION=2026-11-22T10:00:00Z\nexport AWS_REGION=us-east-1\nexport AWS_DEFAULT_REGION=us-east-1\n",
    );
  });

  it("ini", () => {
    expect(formatExport("ini", temp, "admin", "us-east-1")).toBe(
      "[admin]\naws_access_key_id=ASIA-KEY-ID\naws_secret_access_key=TEMP-SECRET\naws_session_token=SESSION-TOKEN\n" +
        "aws_credential_expiration=2026-11-22T10:00:00Z\nregion=us-east-1\n",
    );
  });

  it("json (the credential_process document)", () => {
    expect(formatExport("json", temp, "admin", "us-east-1")).toBe(
      '{\n  "Version": 1,\n  "AccessKeyId": "ASIA-KEY-ID",\n  "SecretAccessKey": "TEMP-SECRET",\n' +
        '  "SessionToken": "SESSION-TOKEN",\n  "Expiration": "2026-11-22T10:00:00Z"\n}\n',
    );
    expect(formatExport("json", master, "alice", "us-east-1")).toBe(
      '{\n  "Version": 1,\n  "AccessKeyId": "AKIA-KEY-ID",\n  "SecretAccessKey": "MASTER-SECRET"\n}\n',
    );
  });
});

describe("list", () => {
  it("renders aws-vault's tabwriter table, trailing spaces included", () => {
    expect(
      renderTable([
        ["Profile", "Credentials", "Sessions"],
        ["=======", "===========", "========"],
        ["jonsmith", "jonsmith", "sts.GetSessionToken:59m58s"],
        ["foo-admin", "-", "-"],
        ["-", "orphan-creds", "-"],
        ["-", "-", "sts.AssumeRole:12m0s"],
      ]),
    ).toBe(
      [
        "Profile                  Credentials              Sessions                    ",
        "=======                  ===========              ========                    ",
        "jonsmith                 jonsmith                 sts.GetSessionToken:59m58s  ",
        "foo-admin                -                        -                           ",
        "-                        orphan-creds             -                           ",
        "-                        -                        sts.AssumeRole:12m0s        ",
        "",
      ].join("\n"),
    );
  });

  it("labels sessions with Go durations truncated to seconds, negative when expired", () => {
    const now = new Date("2026-11-22T10:00:00Z");
    const label = (ms: number) =>
      sessionLabel({ type: "sts.AssumeRole", profileName: "p", mfaSerial: "", expiration: new Date(now.getTime() + ms) }, now);
    expect(label(3598_400)).toBe("sts.AssumeRole:59m58s");
    expect(label(3600_000)).toBe("sts.AssumeRole:1h0m0s");
    expect(label(-182_000)).toBe("sts.AssumeRole:-3m2s");
  });

  it("saturates like Go's time.Until past ~292 years (aws-vault prints 2562047h47m16s), never failing", () => {
    const now = new Date("2026-11-22T10:00:00Z");
    const at = (expiration: Date) => sessionLabel({ type: "sts.AssumeRole", profileName: "p", mfaSerial: "", expiration }, now);
    expect(at(new Date(8.64e15))).toBe("sts.AssumeRole:2562047h47m16s");
    expect(at(new Date(now.getTime() + 9_223_372_036_000))).toBe("sts.AssumeRole:2562047h47m16s");
    expect(at(new Date(now.getTime() + 9_223_372_035_000))).toBe("sts.AssumeRole:2562047h47m15s");
    expect(at(new Date(-8.64e15))).toBe("sts.AssumeRole:-2562047h47m16s");
  });
});

describe("child environment", () => {
  it("removes shadowing variables and sets the credentials, like aws-vault exec", () => {
    const env = childEnvironment(
      {
        PATH: "/bin",
        AWS_PROFILE: "x",
        AWS_DEFAULT_PROFILE: "x",
        AWS_SECURITY_TOKEN: "old",
        AWS_SDK_LOAD_CONFIG: "1",
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/creds",
        AWS_ACCESS_KEY_ID: "OLD",
      },
      "admin",
      "eu-west-1",
      { kind: "env", credentials: temp },
    );
    expect(env).toEqual({
      PATH: "/bin",
      AWS_VAULT: "admin",
      AWS_ACCESS_KEY_ID: "ASIA-KEY-ID",
      AWS_SECRET_ACCESS_KEY: "TEMP-SECRET",
      AWS_SESSION_TOKEN: "SESSION-TOKEN",
      AWS_CREDENTIAL_EXPIRATION: "2026-11-22T10:00:00Z",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
    });
  });
});
