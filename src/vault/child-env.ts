// The environment `aws-vault exec` gives its child (aws-vault §2.2, hardened).
import type { Credentials } from "./credentials.ts";
import { credentialEnvVars } from "./export-format.ts";
import { withoutSecretVars } from "../runtime/secret-env.ts";

/** Always removed: they would shadow or confuse the credentials we hand over. */
const ALWAYS_UNSET = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_FILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_PROFILE",
  "AWS_SDK_LOAD_CONFIG",
  "AWS_CREDENTIAL_EXPIRATION",
];

/** Removed in environment mode: an inherited container endpoint would override the injected keys in some SDKs. */
const CONTAINER_VARS = [
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

export type ChildCredentialMode =
  | { kind: "env"; credentials: Credentials }
  | { kind: "ecs"; url: string; token: string }
  | { kind: "ec2"; url: string };

export function childEnvironment(
  parent: Readonly<Record<string, string | undefined>>,
  profile: string,
  region: string | undefined,
  mode: ChildCredentialMode,
): Record<string, string> {
  // The keyring passphrase variables never reach the child (the spawner drops them too).
  const env = withoutSecretVars(parent);
  for (const k of ALWAYS_UNSET) delete env[k];
  env.AWS_VAULT = profile;
  if (mode.kind === "env") {
    for (const k of CONTAINER_VARS) delete env[k];
    for (const [k, v] of credentialEnvVars(mode.credentials, region)) env[k] = v;
  } else {
    if (region) {
      env.AWS_REGION = region;
      env.AWS_DEFAULT_REGION = region;
    }
    if (mode.kind === "ecs") {
      delete env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI = mode.url;
      env.AWS_CONTAINER_AUTHORIZATION_TOKEN = mode.token;
    } else {
      // Container credentials would win over IMDS in every SDK, and a disabled IMDS would ignore us.
      for (const k of [...CONTAINER_VARS, "AWS_EC2_METADATA_DISABLED"]) delete env[k];
      env.AWS_EC2_METADATA_SERVICE_ENDPOINT = mode.url;
    }
  }
  return env;
}

/** Names only, for the debug log. */
export function describeCredentialVars(mode: ChildCredentialMode): string {
  if (mode.kind === "env") return "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION";
  if (mode.kind === "ecs") return "AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN";
  return "AWS_EC2_METADATA_SERVICE_ENDPOINT";
}
