// The production AwsClients: each SDK adapter is imported on first use, so commands that are
// served from the cache never load the AWS SDK.
import type { AwsClients } from "./types.ts";

export function sdkClients(): AwsClients {
  return {
    async sts(opts) {
      const { createSts } = await import("./sts-sdk.ts");
      return createSts(opts);
    },
  };
}
