// Endpoint selection for the clients we build (pure; no SDK).

/** Regions for which sts_regional_endpoints=legacy means the global endpoint (aws-vault §3.6). */
const LEGACY_GLOBAL_STS_REGIONS = new Set([
  "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global", "ca-central-1",
  "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
  "us-east-1", "us-east-2", "us-west-1", "us-west-2",
]);

/** The global STS endpoint when the profile asks for legacy endpoints, otherwise undefined (SDK default, regional). */
export function legacyStsEndpoint(region: string | undefined, stsRegionalEndpoints: string | undefined): string | undefined {
  if (stsRegionalEndpoints === "legacy" && region && LEGACY_GLOBAL_STS_REGIONS.has(region)) return "https://sts.amazonaws.com";
  return undefined;
}
