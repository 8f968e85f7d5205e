// sts:AssumeRoleWithWebIdentity with an OIDC token read from `web_identity_token_file` or printed
// by `web_identity_token_process` (aws-vault AssumeRoleWithWebIdentityProvider; the file wins when
// both are set). The call is unsigned. Unlike aws-vault, trailing whitespace (the newline most
// tools write) is trimmed from the token (§16 item 26).
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { awsCallError } from "../../aws/errors.ts";
import { CredentialsError } from "../../errors.ts";
import { Secret } from "../../util/secret.ts";
import { DEFAULT_SESSION_DURATION, type ProfileConfig } from "../config/profile.ts";
import { runProfileCommand } from "./credential-process.ts";
import { defaultRoleSessionName } from "./assume-role.ts";
import type { CredentialsProvider, VaultDeps } from "./provider.ts";

export interface WebIdentityOptions {
  durationMs?: number;
}

function errorCode(e: unknown): string | undefined {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

/** The token from the file or the process, trailing whitespace removed. */
export async function readWebIdentityToken(deps: Pick<VaultDeps, "rt">, config: ProfileConfig): Promise<Secret> {
  const profile = config.profileName;
  let raw: string;
  let source: string;
  if (config.webIdentityTokenFile) {
    source = "web_identity_token_file";
    const file = config.webIdentityTokenFile;
    const path = file === "~" || file.startsWith("~/") ? join(deps.rt.homedir, file.slice(1)) : file;
    try {
      raw = await readFile(isAbsolute(path) ? path : join(deps.rt.cwd, path), "utf8");
    } catch (e) {
      throw new CredentialsError(`profile ${profile}: cannot read web_identity_token_file ${file}: ${errorCode(e) ?? (e as Error).message}`, {
        cause: e,
      });
    }
  } else {
    source = "web_identity_token_process";
    raw = await runProfileCommand(deps.rt, profile, source, config.webIdentityTokenProcess ?? "");
  }
  const token = raw.replace(/\s+$/, "");
  if (token === "") throw new CredentialsError(`profile ${profile}: ${source} gave an empty token`);
  return new Secret(token);
}

export function webIdentityProvider(deps: VaultDeps, config: ProfileConfig, opts: WebIdentityOptions = {}): CredentialsProvider {
  const roleArn = config.roleArn;
  if (!roleArn) {
    throw new CredentialsError(`profile ${config.profileName}: web identity needs role_arn`, {
      hints: ["set role_arn in the profile (or AWS_ROLE_ARN) to the role the token may assume"],
    });
  }
  return {
    kind: "web-identity",
    async retrieve() {
      const webIdentityToken = await readWebIdentityToken(deps, config);
      const sts = await deps.aws.sts({ region: config.region, endpoint: deps.stsEndpoint(config) });
      try {
        return await sts.assumeRoleWithWebIdentity({
          roleArn,
          roleSessionName: config.roleSessionName || defaultRoleSessionName(deps.rt.now()),
          durationSeconds: Math.round((opts.durationMs ?? config.assumeRoleDuration ?? DEFAULT_SESSION_DURATION) / 1000),
          webIdentityToken,
        });
      } catch (e) {
        throw awsCallError(config.profileName, `AssumeRoleWithWebIdentity ${roleArn}`, e);
      }
    },
  };
}
