import { DEFAULT_SESSION_DURATION, type ProfileConfig, ROLE_CHAINING_MAXIMUM_DURATION } from "./config/profile.ts";
import { assumeRoleProvider } from "./providers/assume-role.ts";
import type { CredentialsProvider, VaultDeps } from "./providers/provider.ts";

/** /role-arn/<arn> on the ECS server: AssumeRole from the profile's credentials (no MFA, tags or external id, as aws-vault). */
export function roleArnProvider(deps: VaultDeps, c: ProfileConfig, roleArn: string, source: CredentialsProvider): CredentialsProvider {
  const hop: ProfileConfig = {
    profileName: c.profileName,
    roleArn,
    ...(c.region ? { region: c.region } : {}),
    ...(c.stsRegionalEndpoints ? { stsRegionalEndpoints: c.stsRegionalEndpoints } : {}),
    ...(c.endpointUrl ? { endpointUrl: c.endpointUrl } : {}),
    ...(c.servicesSection ? { servicesSection: c.servicesSection } : {}),
  };
  const requested = c.assumeRoleDuration ?? DEFAULT_SESSION_DURATION;
  // With role_arn the source is a role session, and STS caps chained sessions at 1h.
  const durationMs = c.roleArn ? Math.min(requested, ROLE_CHAINING_MAXIMUM_DURATION) : requested;
  return assumeRoleProvider(deps, hop, source, { durationMs });
}
