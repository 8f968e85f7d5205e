// The production AwsClients: each SDK adapter is imported on first use, so commands that are
// served from the cache never load the AWS SDK.
import type { AwsClients, ClientOptions, DoctorApi } from "./types.ts";

export function sdkClients(): AwsClients {
  return {
    async sts(opts) {
      const { createSts } = await import("./sts-sdk.ts");
      return createSts(opts);
    },
    async iam(opts) {
      const { createIam } = await import("./iam-sdk.ts");
      return createIam(opts);
    },
    async sso(opts) {
      const { createSso } = await import("./sso-sdk.ts");
      return createSso(opts);
    },
    async ssoOidc(opts) {
      const { createSsoOidc } = await import("./sso-oidc-sdk.ts");
      return createSsoOidc(opts);
    },
  };
}

/** The `doctor --online` calls (loaded on first use, like the other adapters). */
export async function doctorClient(sts: ClientOptions, iam: ClientOptions): Promise<DoctorApi> {
  const { createDoctor } = await import("./doctor-sdk.ts");
  return createDoctor(sts, iam);
}
