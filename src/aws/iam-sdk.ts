// The IAM adapter over @aws-sdk/client-iam. Loaded only through clients.ts.
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from "@aws-sdk/client-iam";
import { Secret } from "../util/secret.ts";
import { clientConfig } from "./sts-sdk.ts";
import type { ClientOptions, IamApi } from "./types.ts";

export function createIam(opts: ClientOptions): IamApi {
  const client = new IAMClient(clientConfig(opts));
  return {
    async getUser(p = {}) {
      const out = await client.send(new GetUserCommand(p.userName ? { UserName: p.userName } : {}));
      return { userName: out.User?.UserName ?? "", arn: out.User?.Arn ?? "" };
    },
    async createAccessKey(p) {
      const out = await client.send(new CreateAccessKeyCommand(p.userName ? { UserName: p.userName } : {}));
      const key = out.AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error("IAM returned no access key");
      return { accessKeyId: key.AccessKeyId, secretAccessKey: new Secret(key.SecretAccessKey), userName: key.UserName ?? "" };
    },
    async deleteAccessKey(p) {
      await client.send(new DeleteAccessKeyCommand({ AccessKeyId: p.accessKeyId, ...(p.userName ? { UserName: p.userName } : {}) }));
    },
    async listAccessKeys(p) {
      const out = await client.send(new ListAccessKeysCommand(p.userName ? { UserName: p.userName } : {}));
      return (out.AccessKeyMetadata ?? []).map((k) => ({
        accessKeyId: k.AccessKeyId ?? "",
        status: k.Status ?? "",
        ...(k.CreateDate ? { createDate: new Date(k.CreateDate) } : {}),
      }));
    },
  };
}
