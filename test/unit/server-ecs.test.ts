// The ECS credential server in-process, over a fake provider: token, body format, /role-arn/,
// eager vs lazy, errors without secrets, one refresh for concurrent requests.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { ecsCredentialsBody, type EcsServer, type EcsServerOptions, startEcsServer } from "../../src/server/ecs.ts";
import { Secret } from "../../src/util/secret.ts";
import type { Credentials } from "../../src/vault/credentials.ts";
import type { CredentialsProvider } from "../../src/vault/providers/provider.ts";
import { httpRequest } from "../support/http.ts";

const T0 = Date.parse("2024-01-01T00:00:00Z");

function creds(id: string, expiresAt = T0 + 3_600_000): Credentials {
  return { accessKeyId: id, secretAccessKey: new Secret(`secret-${id}`), sessionToken: new Secret(`token-${id}`), expiration: new Date(expiresAt) };
}

function countingProvider(make: () => Promise<Credentials> | Credentials): CredentialsProvider & { calls: number } {
  const p = {
    kind: "assume-role" as const,
    calls: 0,
    retrieve: async () => {
      p.calls++;
      return make();
    },
  };
  return p;
}

function req(server: EcsServer, path: string, headers: Record<string, string> = {}, method = "GET") {
  return httpRequest(server.port, path, { headers, method });
}

async function withServer(opts: Partial<EcsServerOptions> & { provider: CredentialsProvider }, body: (s: EcsServer) => Promise<void>) {
  const server = await startEcsServer({
    lazy: false,
    now: () => new Date(T0),
    windowMs: 300_000,
    random: (n) => new Uint8Array(randomBytes(n)),
    log: undefined,
    ...opts,
  });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

describe("ecsCredentialsBody", () => {
  it("is Go's json.Encoder output: alphabetical keys, RFC3339 UTC, trailing newline", () => {
    expect(ecsCredentialsBody(creds("ASIAEXAMPLE"), new Date(T0))).toBe(
      '{"AccessKeyId":"ASIAEXAMPLE","Expiration":"2024-01-01T01:00:00Z","SecretAccessKey":"secret-ASIAEXAMPLE","Token":"token-ASIAEXAMPLE"}\n',
    );
  });
  it("gives long-lived keys an Expiration a short while ahead and an empty Token", () => {
    const body = JSON.parse(ecsCredentialsBody({ accessKeyId: "AKIA", secretAccessKey: new Secret("s") }, new Date(T0)));
    expect(body).toEqual({ AccessKeyId: "AKIA", Expiration: "2024-01-01T00:15:00Z", SecretAccessKey: "s", Token: "" });
  });
});

describe("startEcsServer", () => {
  it("listens on 127.0.0.1 with a 256-bit token, and serves the credentials only with that exact token", async () => {
    const provider = countingProvider(() => creds("ASIAONE"));
    await withServer({ provider }, async (s) => {
      expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
      expect(Buffer.from(s.token.reveal(), "base64url")).toHaveLength(32);
      expect(String(s.token)).toBe("[redacted]");
      expect(provider.calls).toBe(1); // eager
      const ok = await req(s, "/", { Authorization: s.token.reveal() });
      expect(ok.status).toBe(200);
      expect(ok.headers["content-type"]).toBe("application/json");
      expect(ok.body).toBe(ecsCredentialsBody(creds("ASIAONE"), new Date(T0)));
      expect((await req(s, "/anything/else", { Authorization: s.token.reveal() })).body).toBe(ok.body);
      for (const auth of [undefined, "", "x", s.token.reveal().toUpperCase(), `Bearer ${s.token.reveal()}`, `${s.token.reveal()}x`]) {
        const r = await req(s, "/", auth === undefined ? {} : { Authorization: auth });
        expect(r.status, String(auth)).toBe(403);
        expect(r.headers["content-type"]).toBe("application/json; charset=utf-8");
        expect(r.body).toBe('{"Message":"invalid Authorization token"}\n');
      }
      expect((await req(s, "/", { Authorization: s.token.reveal() }, "DELETE")).status).toBe(405);
      expect((await req(s, "/", { Authorization: s.token.reveal(), Host: "attacker.test" })).status).toBe(401);
      for (const host of [`localhost:${s.port}`, `LocalHost:${s.port}`, `127.0.0.1:${s.port}`]) {
        expect((await req(s, "/", { Authorization: s.token.reveal(), Host: host })).status, host).toBe(200);
      }
      for (const host of [`127.0.0.1:${s.port + 1}`, "127.0.0.1", `localhost:${s.port}.`, `127.0.0.1:0`, `[::1]:${s.port}`]) {
        expect((await req(s, "/", { Authorization: s.token.reveal(), Host: host })).status, host).toBe(401);
      }
      expect(provider.calls).toBe(1);
    });
  });

  it("--lazy fetches on the first request; 50 concurrent first requests make one call", async () => {
    let release: (c: Credentials) => void = () => undefined;
    const provider = countingProvider(() => new Promise<Credentials>((r) => (release = r)));
    await withServer({ provider, lazy: true }, async (s) => {
      expect(provider.calls).toBe(0);
      const all = Promise.all(Array.from({ length: 50 }, () => req(s, "/", { Authorization: s.token.reveal() })));
      await new Promise((r) => setTimeout(r, 100));
      expect(provider.calls).toBe(1);
      release(creds("ASIALAZY"));
      const answers = await all;
      expect(answers.every((a) => a.status === 200 && JSON.parse(a.body).AccessKeyId === "ASIALAZY")).toBe(true);
      expect(provider.calls).toBe(1);
    });
  });

  it("an eager start fails with the provider's error; a lazy failure is a 500 with a safe message", async () => {
    const failing = countingProvider(() => Promise.reject(new UserError("profile dev: AssumeRole failed: AccessDenied")));
    await expect(withServer({ provider: failing }, async () => undefined)).rejects.toThrow("profile dev: AssumeRole failed: AccessDenied");
    const reported: unknown[] = [];
    await withServer({ provider: failing, lazy: true, onRefreshError: (e) => reported.push(e) }, async (s) => {
      const r = await req(s, "/", { Authorization: s.token.reveal() });
      expect(r.status).toBe(500);
      expect(r.body).toBe('{"Message":"profile dev: AssumeRole failed: AccessDenied"}\n');
    });
    expect(reported).toHaveLength(1);
    const internal = countingProvider(() => Promise.reject(new TypeError("cannot read AKIAIOSFODNN7EXAMPLE of undefined")));
    await withServer({ provider: internal, lazy: true }, async (s) => {
      const r = await req(s, "/", { Authorization: s.token.reveal() });
      expect(r.body).toBe('{"Message":"internal error retrieving credentials"}\n');
    });
  });

  it("answers the new credentials after a refresh (the prepared answer, headers included, is per credentials)", async () => {
    let now = T0;
    const issued = [creds("ASIAFIRST"), creds("ASIASECONDLONGERID", T0 + 7_200_000)];
    const provider = countingProvider(() => issued[provider.calls - 1] as Credentials);
    await withServer({ provider, now: () => new Date(now) }, async (s) => {
      const auth = { Authorization: s.token.reveal() };
      const first = await req(s, "/", auth);
      expect(JSON.parse(first.body).AccessKeyId).toBe("ASIAFIRST");
      expect((await req(s, "/", auth)).body).toBe(first.body);
      now = T0 + 3_600_000 - 30_000; // 30s left: requests wait for the refresh
      const second = await req(s, "/", auth);
      expect(provider.calls).toBe(2);
      expect(second.body).toBe(ecsCredentialsBody(issued[1] as Credentials, new Date(now)));
      expect(second.headers["content-length"]).toBe(String(Buffer.byteLength(second.body)));
      expect((await req(s, "/", auth)).body).toBe(second.body);
    });
  });

  it("/role-arn/<arn> assumes the role from the profile's (cached) credentials, once per ARN", async () => {
    const provider = countingProvider(() => creds("ASIAPROFILE"));
    const made: string[] = [];
    const sources: string[] = [];
    const roleProvider = (arn: string, source: CredentialsProvider): CredentialsProvider => {
      made.push(arn);
      return {
        kind: "assume-role",
        retrieve: async () => {
          sources.push((await source.retrieve()).accessKeyId);
          return creds(`ASIA${arn.slice(-4).toUpperCase()}`);
        },
      };
    };
    await withServer({ provider, roleProvider }, async (s) => {
      const auth = { Authorization: s.token.reveal() };
      const arn = "arn:aws:iam::123456789012:role/team/dev-role";
      const a = await req(s, `/role-arn/${arn}`, auth);
      expect(JSON.parse(a.body).AccessKeyId).toBe("ASIAROLE");
      expect((await req(s, `/role-arn/${encodeURIComponent(arn)}`, auth)).body).toBe(a.body);
      expect(made).toEqual([arn]);
      expect(sources).toEqual(["ASIAPROFILE"]);
      expect(provider.calls).toBe(1);
      for (const bad of ["", "nope", "arn:aws:iam::123:role/x", "arn:aws:s3:::bucket", "%E0%A4%A"]) {
        expect((await req(s, `/role-arn/${bad}`, auth)).status, bad).toBe(400);
      }
      expect((await req(s, `/role-arn/${arn}`, {})).status).toBe(403);
    });
    await withServer({ provider }, async (s) => {
      expect((await req(s, "/role-arn/arn:aws:iam::123456789012:role/x", { Authorization: s.token.reveal() })).status).toBe(404);
    });
  });
});
