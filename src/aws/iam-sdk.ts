// The IAM adapter over @aws-sdk/client-iam. Loaded only through clients.ts when a call is needed
// (login's GetUser, rotate's access-key calls). Errors are the SDK's own; callers wrap them with
// awsCallError so the message names the profile and the call.
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from "@aws-sdk/client-iam";
import { Secret } from "../util/secret.ts";
import { addEndpointDiagnostics } from "./endpoint-diagnostics.ts";
import { clientConfig } from "./client-config.ts";
import type { ClientOptions, IamApi } from "./types.ts";

export function createIam(opts: ClientOptions): IamApi {
  const client = new IAMClient(clientConfig(opts));
  addEndpointDiagnostics(client.middlewareStack);
  return {
    async getUser(p = {}) {
      const out = await client.send(new GetUserCommand(p.userName ? { UserName: p.userName } : {}));
      const user = out.User;
      if (!user?.Arn) throw new Error("IAM GetUser returned no user");
      // The user name is the last segment of the ARN's resource (arn:aws:iam::123:user/path/name).
      return { userName: user.UserName ?? user.Arn.slice(user.Arn.lastIndexOf("/") + 1), arn: user.Arn };
    },
    async createAccessKey(p) {
      const out = await client.send(new CreateAccessKeyCommand(p.userName ? { UserName: p.userName } : {}));
      const key = out.AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error("IAM CreateAccessKey returned no access key");
      return { accessKeyId: key.AccessKeyId, secretAccessKey: new Secret(key.SecretAccessKey), userName: key.UserName ?? "" };
    },
    async deleteAccessKey(p) {
      await client.send(
        new DeleteAccessKeyCommand({ AccessKeyId: p.accessKeyId, ...(p.userName ? { UserName: p.userName } : {}) }),
      );
    },
    async listAccessKeys(p) {
      const keys: Array<{ accessKeyId: string; status: string; createDate?: Date }> = [];
      let marker: string | undefined;
      do {
        const out = await client.send(
          new ListAccessKeysCommand({ ...(p.userName ? { UserName: p.userName } : {}), ...(marker ? { Marker: marker } : {}) }),
        );
        for (const k of out.AccessKeyMetadata ?? []) {
          if (!k.AccessKeyId) continue;
          keys.push({ accessKeyId: k.AccessKeyId, status: k.Status ?? "", ...(k.CreateDate ? { createDate: new Date(k.CreateDate) } : {}) });
        }
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
      return keys;
    },
  };
}
