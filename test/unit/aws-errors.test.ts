// aws/errors.ts: transport failures and non-AWS answers, named by URL, errno and status.
import { describe, expect, it } from "vitest";
import { awsCallError } from "../../src/aws/errors.ts";
import { NonAwsResponseError, requestUrl } from "../../src/aws/endpoint-diagnostics.ts";

function withEndpoint<T extends object>(e: T, url: string, errno?: string): T {
  Object.defineProperty(e, "$endpoint", { value: url });
  if (errno) Object.defineProperty(e, "$errno", { value: errno });
  return e;
}

describe("awsCallError", () => {
  it.each([
    ["ECONNREFUSED", "connection refused"],
    ["ENETUNREACH", "network is unreachable"],
    ["EHOSTUNREACH", "no route to host"],
    ["ETIMEDOUT", "connection timed out"],
    ["ENOTFOUND", "host not found"],
    ["EAI_AGAIN", "temporary failure in name resolution"],
    ["ECONNRESET", "connection reset by peer"],
  ])("%s names the URL and says why", (code, why) => {
    const e = withEndpoint(Object.assign(new Error(`connect ${code} 10.0.0.1:443 - Local (0.0.0.0:0)`), { code }), "https://sts.example/");
    const err = awsCallError("p", "GetSessionToken", e);
    expect(err.message).toBe(`profile p: GetSessionToken failed: cannot reach https://sts.example/: ${why} (${code})`);
    expect(err.hints).toEqual(["check your network, proxy and AWS_ENDPOINT_URL settings"]);
  });

  it("prefers the re-probed errno (Bun) over the reported one", () => {
    const e = withEndpoint(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "http://127.0.0.1:1/", "ENETUNREACH");
    expect(awsCallError("p", "X", e).message).toBe("profile p: X failed: cannot reach http://127.0.0.1:1/: network is unreachable (ENETUNREACH)");
  });

  it("without the middleware's URL, names the address from the error", () => {
    const e = Object.assign(new Error("connect ECONNREFUSED ::1:9"), { code: "ECONNREFUSED", address: "::1", port: 9 });
    expect(awsCallError("p", "X", e).message).toBe("profile p: X failed: cannot reach [::1]:9: connection refused (ECONNREFUSED)");
  });

  it("a web page or unparsable answer names the URL and the status", () => {
    const hint = "check AWS_ENDPOINT_URL, endpoint_url and proxy settings: the URL may point at a web page or a proxy";
    const html = awsCallError("p", "X", new NonAwsResponseError("https://e/", 200));
    expect(html.message).toBe("profile p: X failed: https://e/ answered HTTP 200 with a response that is not from the AWS API");
    expect(html.hints).toEqual([hint]);
    const syntax = withEndpoint(Object.assign(new SyntaxError("JSON Parse error: Unrecognized token '<'"), { $metadata: { httpStatusCode: 502 } }), "https://e/");
    expect(awsCallError("p", "X", syntax).message).toBe("profile p: X failed: https://e/ answered HTTP 502 with a response that is not from the AWS API");
    const unknown = withEndpoint(Object.assign(new Error("Unknown"), { name: "Unknown", $metadata: { httpStatusCode: 503 } }), "https://e/");
    expect(awsCallError("p", "X", unknown).message).toBe("profile p: X failed: https://e/ answered HTTP 503 with a response that is not from the AWS API");
  });

  it("leaves AWS errors as they are", () => {
    const e = Object.assign(new Error("The security token included in the request is invalid."), {
      name: "InvalidClientTokenId",
      $metadata: { httpStatusCode: 403 },
    });
    const err = awsCallError("p", "X", e);
    expect(err.message).toBe("profile p: X failed: InvalidClientTokenId: The security token included in the request is invalid.");
    expect(err.hints[0]).toMatch(/the access key is not valid/);
  });
});

describe("requestUrl", () => {
  it("brackets IPv6 hosts and keeps port and path", () => {
    expect(requestUrl({ protocol: "http:", hostname: "::1", port: 8080, path: "/x" })).toBe("http://[::1]:8080/x");
    expect(requestUrl({ protocol: "https:", hostname: "sts.amazonaws.com", path: "/" })).toBe("https://sts.amazonaws.com/");
  });
});
