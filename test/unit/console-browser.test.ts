// Isolated console sessions and partitions, checked against what Granted and AWS's endpoint data
// produce: Granted's Firefox container URL format (pkg/assume: fmt.Sprintf("ext+granted-containers:
// name=%s&url=%s&color=%s&icon=%s", name, url.QueryEscape(u), color, icon)), the SDK's partition of
// each region (partitions.json regionRegex) and the SDK's sign-in endpoint rules for the host.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { partition as sdkPartition } from "@aws-sdk/core/client";
import { afterEach, describe, expect, it } from "vitest";
import { loginTarget, partitionName, signOutFirstUrl } from "../../src/aws/signin.ts";
import { UserError } from "../../src/errors.ts";
import {
  chooseIsolatedBrowser,
  familyOf,
  firefoxContainerUrl,
  isolatedCommand,
  profileDataDir,
  profileFolderName,
} from "../../src/vault/console-browser.ts";
import { chooseSsoFlow } from "../../src/vault/sso-token.ts";
import { FakeBinDir, fakeRuntime } from "../support/fake-runtime.ts";

/** Go's url.QueryEscape, written independently of the implementation. */
function goQueryEscape(s: string): string {
  return [...Buffer.from(s, "utf8")]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-_.~]/.test(c)) return c;
      if (c === " ") return "+";
      return `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

const LOGIN = "https://us-east-1.signin.aws.amazon.com/federation?Action=login&Issuer=aws-vault&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=a+b/c=";

describe("Firefox containers (Granted's format)", () => {
  it.each([
    ["work", "", ""],
    ["prod-admin", "blue", "fingerprint"],
    ["Team/Role (eu)", "red", "briefcase"],
  ])("%s", (name, color, icon) => {
    const granted = `ext+granted-containers:name=${name}&url=${goQueryEscape(LOGIN)}&color=${color}&icon=${icon}`;
    expect(firefoxContainerUrl(name, LOGIN, color || undefined, icon || undefined)).toBe(granted);
  });

  it("matches a URL Granted printed", () => {
    expect(firefoxContainerUrl("Testy", "https://synfin.net")).toBe("ext+granted-containers:name=Testy&url=https%3A%2F%2Fsynfin.net&color=&icon=");
  });

  it("Firefox gets --new-tab and the container URL; Chromium a data folder of the profile's own", () => {
    const home = "/home/u";
    expect(isolatedCommand({ name: "firefox", family: "firefox", executable: "/usr/bin/firefox" }, home, LOGIN, { profile: "p", color: "blue" })).toEqual({
      cmd: "/usr/bin/firefox",
      args: ["--new-tab", `ext+granted-containers:name=p&url=${goQueryEscape(LOGIN)}&color=blue&icon=`],
    });
    expect(isolatedCommand({ name: "chrome", family: "chromium", executable: "/usr/bin/google-chrome" }, home, LOGIN, { profile: "a/b" })).toEqual({
      cmd: "/usr/bin/google-chrome",
      args: ["--user-data-dir=/home/u/.awsvault/browser/a%2Fb", "--no-first-run", "--no-default-browser-check", LOGIN],
    });
  });
});

describe("profile data folders", () => {
  it("keep safe names and escape the rest, so names can neither collide nor leave the folder", () => {
    expect(profileFolderName("dev-account.admin_1")).toBe("dev-account.admin_1");
    expect(profileFolderName("a/b")).toBe("a%2Fb");
    expect(profileFolderName("a%2Fb")).toBe("a%252Fb");
    expect(profileFolderName("..")).toBe("%2E%2E");
    expect(profileFolderName(".")).toBe("%2E");
    expect(profileFolderName("é x")).toBe("%C3%A9%20x");
    expect(profileDataDir("/h", "../x")).toBe(join("/h", ".awsvault", "browser", "..%2Fx"));
  });

  it("families by program name", () => {
    expect(["firefox", "/opt/librewolf/librewolf", "firefox-esr"].map(familyOf)).toEqual(["firefox", "firefox", "firefox"]);
    expect(["chromium", "/usr/bin/google-chrome", "brave-browser", "msedge.exe", "chromium-headless"].map(familyOf)).toEqual(Array(5).fill("chromium"));
  });
});

describe("chooseIsolatedBrowser", () => {
  const bins: FakeBinDir[] = [];
  afterEach(() => {
    for (const b of bins.splice(0)) b.cleanup();
  });
  const bin = () => {
    const b = new FakeBinDir("awsv-isolated-");
    bins.push(b);
    return b;
  };

  it("AWS_VAULT_BROWSER names a known browser or a path; otherwise the first one installed", () => {
    const b = bin();
    const chromium = b.tool("chromium");
    const firefox = b.tool("firefox");
    const PATH = b.dir;
    expect(chooseIsolatedBrowser(fakeRuntime({ env: { PATH } }))).toEqual({ name: "chromium", family: "chromium", executable: chromium });
    expect(chooseIsolatedBrowser(fakeRuntime({ env: { PATH, AWS_VAULT_BROWSER: "firefox" } }))).toEqual({ name: "firefox", family: "firefox", executable: firefox });
    expect(chooseIsolatedBrowser(fakeRuntime({ env: { PATH: "", AWS_VAULT_BROWSER: firefox } }))).toEqual({ name: "firefox", family: "firefox", executable: firefox });
  });

  it("fails with a hint when nothing fits", () => {
    const b = bin();
    const none = () => chooseIsolatedBrowser(fakeRuntime({ env: { PATH: b.dir } }));
    expect(none).toThrow(UserError);
    expect(none).toThrow("--browser-profile: no supported browser was found");
    expect(() => chooseIsolatedBrowser(fakeRuntime({ env: { PATH: b.dir, AWS_VAULT_BROWSER: "brave" } }))).toThrow("AWS_VAULT_BROWSER=brave: brave was not found");
  });
});

describe("partitions (AWS's endpoint data)", () => {
  // The SDK's sign-in endpoint rules list one `https://{Region}.signin.<domain>` template per partition.
  const require = createRequire(import.meta.url);
  const rules = readFileSync(require.resolve("@aws-sdk/nested-clients/signin"), "utf8");
  const templates = [...rules.matchAll(/"https:\/\/\{Region\}\.(signin\.[a-z0-9.-]+)"/g)].map((m) => m[1]);

  it.each(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1", "eusc-de-east-1"])(
    "%s",
    (region) => {
      expect(partitionName(region)).toBe(sdkPartition(region).name);
      const { federationUrl } = loginTarget(region);
      const host = new URL(federationUrl).host;
      if (partitionName(region) === "aws") {
        // The aws partition keeps ByteNess' us-east-1 host (a region the SDK's template also gives).
        expect(host).toBe("us-east-1.signin.aws.amazon.com");
      } else {
        expect(templates.map((t) => `${region}.${t}`)).toContain(host);
      }
      expect(templates).toContain(host.slice(host.indexOf(".") + 1));
    },
  );

  it("--auto-logout wraps the login URL in the sign-in host's sign-out", () => {
    const target = loginTarget("us-gov-west-1");
    expect(signOutFirstUrl(target, LOGIN)).toBe(`https://us-gov-west-1.signin.amazonaws-us-gov.com/oauth?Action=logout&redirect_uri=${goQueryEscape(LOGIN)}`);
    expect(signOutFirstUrl(loginTarget(undefined, undefined, "http://127.0.0.1:9/base/"), LOGIN)).toBe(`http://127.0.0.1:9/base/oauth?Action=logout&redirect_uri=${goQueryEscape(LOGIN)}`);
  });
});

describe("chooseSsoFlow (as the AWS CLI decides)", () => {
  it("device code on request, with --stdout, or without any browser; else the authorization code", () => {
    const b = new FakeBinDir("awsv-flow-");
    try {
      const none = fakeRuntime({ env: { PATH: b.dir } });
      expect(chooseSsoFlow(none, { useStdout: false, useDeviceCode: false })).toEqual({
        flow: "device-code",
        reason: "no browser can be opened (neither $BROWSER nor a platform opener)",
      });
      const withBrowserVar = fakeRuntime({ env: { PATH: b.dir, BROWSER: "/not/even/there" } });
      expect(chooseSsoFlow(withBrowserVar, { useStdout: false, useDeviceCode: false }).flow).toBe("authorization-code");
      expect(chooseSsoFlow(withBrowserVar, { useStdout: true, useDeviceCode: false }).flow).toBe("device-code");
      expect(chooseSsoFlow(withBrowserVar, { useStdout: false, useDeviceCode: true }).flow).toBe("device-code");
      b.tool("xdg-open");
      expect(chooseSsoFlow(fakeRuntime({ env: { PATH: b.dir } }), { useStdout: false, useDeviceCode: false })).toEqual({
        flow: "authorization-code",
        reason: "a browser opener is available",
      });
    } finally {
      b.cleanup();
    }
  });
});
