// Issue 14: `aws-vault sso populate` against the fake IAM Identity Center portal: 3 accounts × 2
// roles served one item per page (pagination on) give 6 profiles, appended after the untouched
// existing text (a taken name made unique); a second run adds none; every new profile works with `exec`.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, awsEnv, run, sandbox, type Sandbox } from "../support/cli.ts";
import { type FakeSso, startFakeSso } from "../support/fake-sso.ts";

const START_URL = "https://corp.awsapps.com/start";
const DEV = "111111111111";
const PROD = "222222222222";
const SANDBOX = "333333333333";

let sso: FakeSso;

beforeAll(async () => {
  sso = await startFakeSso({
    assignments: { [DEV]: ["Admin", "ReadOnly"], [PROD]: ["Admin", "ReadOnly"], [SANDBOX]: ["Admin", "ReadOnly"] },
    accountNames: { [DEV]: "Dev Account", [PROD]: "Prod", [SANDBOX]: "Sandbox  Team" },
    pageSize: 1,
  });
});
afterAll(() => sso?.stop());
beforeEach(() => sso.resetCalls());

// `prod.admin` is taken by an unrelated profile: the generated one must get another name.
const EXISTING = `[sso-session corp]
sso_start_url = ${START_URL}
sso_region = eu-west-1

[profile prod.admin]
region = us-east-1
# a hand-written profile; populate must leave it as it is`;

/** The user approves device authorizations as they appear. */
async function approving<T>(body: () => Promise<T>): Promise<T> {
  let stop = false;
  const approver = (async () => {
    while (!stop) {
      for (const code of sso.pendingUserCodes()) sso.approve(code);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    return await body();
  } finally {
    stop = true;
    await approver;
  }
}

function setup(): Sandbox {
  const sb = sandbox({ AWS_ENDPOINT_URL_SSO: sso.portalEndpoint, AWS_ENDPOINT_URL_SSO_OIDC: sso.oidcEndpoint, AWS_DEFAULT_REGION: "" });
  writeFileSync(sb.configPath, EXISTING, { mode: 0o600 });
  return sb;
}

const populate = (artifact: Artifact, sb: Sandbox, extra: string[] = []) =>
  approving(() => run(artifact, ["sso", "populate", "--sso-session", "corp", "--use-device-code", "--stdout", ...extra], { env: sb.env }));

describe.each(ARTIFACTS)("sso populate ($name)", (artifact) => {
  it("adds one profile per account and role, then none; each works with exec", async () => {
    const sb = setup();
    const dry = await populate(artifact, sb, ["--dry-run", "--region", "eu-central-1"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(readFileSync(sb.configPath, "utf8")).toBe(EXISTING);
    expect(dry.stderr).toContain(`Would add 6 profiles to ${sb.configPath} (0 already configured)`);
    expect(sso.calls("StartDeviceAuthorization")).toHaveLength(1);
    sso.resetCalls();

    const r = await populate(artifact, sb, ["--region", "eu-central-1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(dry.stdout).toBe(readFileSync(sb.configPath, "utf8").slice(EXISTING.length + 2));
    // Every page was read (one item per page), after the (cached) sign-in of the dry run.
    expect(sso.calls("ListAccounts").map((c) => c.detail)).toEqual(["page 0", "page 1", "page 2"]);
    expect(sso.calls("ListAccountRoles")).toHaveLength(6);
    expect(sso.calls("StartDeviceAuthorization")).toHaveLength(0);
    const text = readFileSync(sb.configPath, "utf8");
    expect(text.slice(EXISTING.length)).toBe(
      [
        "",
        "",
        "[profile dev-account.admin]",
        "sso_session = corp",
        `sso_account_id = ${DEV}`,
        "sso_role_name = Admin",
        "region = eu-central-1",
        "",
        "[profile dev-account.readonly]",
        "sso_session = corp",
        `sso_account_id = ${DEV}`,
        "sso_role_name = ReadOnly",
        "region = eu-central-1",
        "",
        "[profile prod.admin-222222222222]",
        "sso_session = corp",
        `sso_account_id = ${PROD}`,
        "sso_role_name = Admin",
        "region = eu-central-1",
        "",
        "[profile prod.readonly]",
        "sso_session = corp",
        `sso_account_id = ${PROD}`,
        "sso_role_name = ReadOnly",
        "region = eu-central-1",
        "",
        "[profile sandbox-team.admin]",
        "sso_session = corp",
        `sso_account_id = ${SANDBOX}`,
        "sso_role_name = Admin",
        "region = eu-central-1",
        "",
        "[profile sandbox-team.readonly]",
        "sso_session = corp",
        `sso_account_id = ${SANDBOX}`,
        "sso_role_name = ReadOnly",
        "region = eu-central-1",
        "",
      ].join("\n"),
    );
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(6);
    expect(statSync(sb.configPath).mode & 0o777).toBe(0o600);

    // A second run finds every pair configured.
    const again = await populate(artifact, sb);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`Added 0 profiles to ${sb.configPath} (6 already configured)`);
    expect(readFileSync(sb.configPath, "utf8")).toBe(text);

    // Each generated profile gets its role's credentials.
    for (const [profile, account, role] of [
      ["dev-account.admin", DEV, "Admin"],
      ["dev-account.readonly", DEV, "ReadOnly"],
      ["prod.admin-222222222222", PROD, "Admin"],
      ["prod.readonly", PROD, "ReadOnly"],
      ["sandbox-team.admin", SANDBOX, "Admin"],
      ["sandbox-team.readonly", SANDBOX, "ReadOnly"],
    ] as const) {
      const e = await run(artifact, ["exec", profile, "--", "env"], { env: sb.env });
      expect(e.code, e.stderr).toBe(0);
      const issued = sso.roleCredentials().at(-1)!;
      expect([issued.accountId, issued.roleName]).toEqual([account, role]);
      const env = awsEnv(e.stdout);
      expect(env).toMatchObject({ AWS_ACCESS_KEY_ID: issued.accessKeyId, AWS_VAULT: profile });
      expect(env.AWS_REGION).toBe("eu-central-1");
    }
  });

  it("a missing session, a bad prefix and a missing flag fail before any sign-in", async () => {
    const sb = setup();
    const missing = await run(artifact, ["sso", "populate", "--sso-session", "nope"], { env: sb.env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^aws-vault: error: sso populate: \[sso-session nope\] not found in .*config$/m);
    const prefix = await run(artifact, ["sso", "populate", "--sso-session", "corp", "--prefix", "a b"], { env: sb.env });
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toContain('invalid --prefix "a b"');
    const none = await run(artifact, ["sso", "populate"], { env: sb.env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("required flag --sso-session not provided");
    expect(sso.callSummary()).toEqual([]);
    expect(readFileSync(sb.configPath, "utf8")).toBe(EXISTING);
  });
});
