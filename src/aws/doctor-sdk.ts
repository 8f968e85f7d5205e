// The read-only calls of `doctor --online` (STS GetCallerIdentity with the response's Date header,
// IAM ListAccessKeys / GetAccessKeyLastUsed / ListMFADevices). Loaded only through clients.ts.
import { GetAccessKeyLastUsedCommand, IAMClient, ListAccessKeysCommand, ListMFADevicesCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { clientConfig } from "./client-config.ts";
import type { ClientOptions, DoctorApi } from "./types.ts";

export function createDoctor(sts: ClientOptions, iamOpts: ClientOptions): DoctorApi {
  const stsClient = new STSClient({ ...clientConfig(sts), maxAttempts: 1 });
  let serverDate: Date | undefined;
  stsClient.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const date = (result.response as { headers?: Record<string, string> }).headers?.date;
      if (date && !Number.isNaN(Date.parse(date))) serverDate = new Date(date);
      return result;
    },
    { step: "deserialize", name: "awsVaultResponseDate" },
  );
  const iam = new IAMClient({ ...clientConfig(iamOpts), maxAttempts: 1 });
  const user = (userName?: string) => (userName ? { UserName: userName } : {});
  return {
    async callerIdentity() {
      const out = await stsClient.send(new GetCallerIdentityCommand({}));
      return { arn: out.Arn ?? "", account: out.Account ?? "", ...(serverDate ? { serverDate } : {}) };
    },
    async accessKeys(userName) {
      const out = await iam.send(new ListAccessKeysCommand(user(userName)));
      return (out.AccessKeyMetadata ?? []).flatMap((k) =>
        k.AccessKeyId ? [{ accessKeyId: k.AccessKeyId, status: k.Status ?? "", ...(k.CreateDate ? { createDate: new Date(k.CreateDate) } : {}) }] : [],
      );
    },
    async lastUsed(accessKeyId) {
      const out = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
      const u = out.AccessKeyLastUsed;
      return { ...(u?.LastUsedDate ? { date: new Date(u.LastUsedDate) } : {}), ...(u?.ServiceName ? { service: u.ServiceName } : {}) };
    },
    async mfaDevices(userName) {
      const out = await iam.send(new ListMFADevicesCommand(user(userName)));
      return (out.MFADevices ?? []).flatMap((m) => (m.SerialNumber ? [m.SerialNumber] : []));
    },
  };
}
