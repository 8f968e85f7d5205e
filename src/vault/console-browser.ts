// `login --browser-profile`: the console in a browser session of its own per AWS profile, so two
// accounts stay signed in side by side (aws-vault #253; Granted's approach). Drivers by family:
//   - Chromium, Chrome, Brave, Edge: `--user-data-dir=~/.awsvault/browser/<profile>` (0700),
//     `--no-first-run --no-default-browser-check`, then the URL;
//   - Firefox: `--new-tab ext+granted-containers:name=<profile>&url=<QueryEscape(url)>&color=<granted_color>&icon=<granted_icon>`,
//     the URL Granted's "Firefox containers" extension handles (Granted: pkg/assume, launcher/firefox.go).
// The browser is AWS_VAULT_BROWSER (a name below, or a path) or the first one found. The login URL
// holds a sign-in token and has to reach the browser in its argv (as aws-vault's own opener does);
// errors and logs name the browser, never the URL.
import { existsSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { goQueryEscape } from "../aws/signin.ts";
import { UsageError, UserError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { type BrowserCommand, openWithCommands } from "../util/browser.ts";
import { type ConfigFile, resolveProfileValue } from "./config/loader.ts";

export const ENV_BROWSER = "AWS_VAULT_BROWSER";
export const ENV_BROWSER_PROFILE = "AWS_VAULT_BROWSER_PROFILE";
export const PROFILE_KEY_BROWSER_PROFILE = "aws_vault_browser_profile";

export type BrowserFamily = "chromium" | "firefox";

export interface IsolatedBrowser {
  name: string;
  family: BrowserFamily;
  executable: string;
}

interface KnownBrowser {
  name: string;
  family: BrowserFamily;
  /** Program names looked up on PATH (Linux, BSD). */
  commands: string[];
  darwin: string;
  win32: string[];
}

/** Detection order: the Chromium family first (isolation needs nothing installed), then Firefox. */
export const KNOWN_BROWSERS: readonly KnownBrowser[] = [
  {
    name: "chrome",
    family: "chromium",
    commands: ["google-chrome", "google-chrome-stable"],
    darwin: "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    win32: ["C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"],
  },
  {
    name: "chromium",
    family: "chromium",
    commands: ["chromium", "chromium-browser"],
    darwin: "/Applications/Chromium.app/Contents/MacOS/Chromium",
    win32: [],
  },
  {
    name: "brave",
    family: "chromium",
    commands: ["brave-browser", "brave"],
    darwin: "/Applications/Brave Browser.app/Contents/MacOS/Brave Browser",
    win32: ["C:\\Program Files\\BraveSoftware\\Brave-Browser\\Application\\brave.exe"],
  },
  {
    name: "edge",
    family: "chromium",
    commands: ["microsoft-edge", "microsoft-edge-stable"],
    darwin: "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    win32: ["C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"],
  },
  {
    name: "firefox",
    family: "firefox",
    commands: ["firefox"],
    darwin: "/Applications/Firefox.app/Contents/MacOS/firefox",
    win32: ["C:\\Program Files\\Mozilla Firefox\\firefox.exe"],
  },
];

/** AWS_VAULT_BROWSER_PROFILE and the profile key accept true/false, 1/0, yes/no, on/off. */
function parseSwitch(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new UsageError(`${name} must be true or false, got ${JSON.stringify(value)}`, { hints: ["use true or false"] });
}

/** Whether login opens an isolated session: --browser-profile, else AWS_VAULT_BROWSER_PROFILE, else the profile key. */
export function wantsBrowserProfile(
  flag: boolean,
  profile: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  file: ConfigFile,
): boolean {
  if (flag) return true;
  const fromEnv = parseSwitch(ENV_BROWSER_PROFILE, env[ENV_BROWSER_PROFILE]);
  if (fromEnv !== undefined) return fromEnv;
  if (!profile) return false;
  return parseSwitch(PROFILE_KEY_BROWSER_PROFILE, resolveProfileValue(file, profile, PROFILE_KEY_BROWSER_PROFILE)) ?? false;
}

/** The profile's name and Firefox container look (granted_color, granted_icon; include_profile and [default] apply). */
export function isolatedOptions(file: ConfigFile, profile: string): IsolatedOpenOptions {
  const color = resolveProfileValue(file, profile, "granted_color");
  const icon = resolveProfileValue(file, profile, "granted_icon");
  return { profile, ...(color ? { color } : {}), ...(icon ? { icon } : {}) };
}

/** A browser's family from its program name: Firefox and its forks, else the Chromium family. */
export function familyOf(executable: string): BrowserFamily {
  return /firefox|librewolf|waterfox|floorp|zen/i.test(basename(executable)) ? "firefox" : "chromium";
}

function locate(rt: Runtime, b: KnownBrowser): string | undefined {
  if (rt.platform === "darwin") return rt.spawn.which(b.darwin);
  if (rt.platform === "win32") return b.win32.find((p) => existsSync(p));
  for (const c of b.commands) {
    const found = rt.spawn.which(c);
    if (found) return found;
  }
  return undefined;
}

const CHOOSE_HINT = `set ${ENV_BROWSER} to one of ${KNOWN_BROWSERS.map((b) => b.name).join(", ")}, or a browser's path`;

/** AWS_VAULT_BROWSER (a name or a path), else the first known browser installed. */
export function chooseIsolatedBrowser(rt: Runtime): IsolatedBrowser {
  const wanted = rt.env[ENV_BROWSER]?.trim();
  if (wanted) {
    const known = KNOWN_BROWSERS.find((b) => b.name === wanted.toLowerCase());
    if (known) {
      const executable = locate(rt, known);
      if (!executable) throw new UserError(`${ENV_BROWSER}=${wanted}: ${known.name} was not found`, { hints: [CHOOSE_HINT, "or use --stdout"] });
      return { name: known.name, family: known.family, executable };
    }
    const executable = rt.spawn.which(wanted);
    if (!executable) throw new UserError(`${ENV_BROWSER}=${wanted}: no such browser or program`, { hints: [CHOOSE_HINT] });
    return { name: basename(wanted), family: familyOf(wanted), executable };
  }
  for (const b of KNOWN_BROWSERS) {
    const executable = locate(rt, b);
    if (executable) return { name: b.name, family: b.family, executable };
  }
  throw new UserError("--browser-profile: no supported browser was found", { hints: [CHOOSE_HINT, "or use --stdout"] });
}

/** A folder name for a profile: safe characters kept, the rest %-escaped (so names cannot collide or escape). */
export function profileFolderName(profile: string): string {
  const escaped = profile.replace(/[^A-Za-z0-9_.-]/g, (c) =>
    [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );
  return escaped === "." || escaped === ".." ? escaped.replace(/\./g, "%2E") : escaped;
}

export function browserDataRoot(homedir: string): string {
  return join(homedir, ".awsvault", "browser");
}

export function profileDataDir(homedir: string, profile: string): string {
  return join(browserDataRoot(homedir), profileFolderName(profile));
}

/** The URL Granted's Firefox containers extension opens in the container `name` (Granted's exact format). */
export function firefoxContainerUrl(profile: string, url: string, color = "", icon = ""): string {
  return `ext+granted-containers:name=${profile}&url=${goQueryEscape(url)}&color=${color}&icon=${icon}`;
}

export interface IsolatedOpenOptions {
  profile: string;
  /** granted_color / granted_icon of the profile (Firefox containers). */
  color?: string;
  icon?: string;
}

/** The command that opens `url` in the profile's own session of `browser` (pure). */
export function isolatedCommand(browser: IsolatedBrowser, homedir: string, url: string, o: IsolatedOpenOptions): BrowserCommand {
  if (browser.family === "firefox") {
    return { cmd: browser.executable, args: ["--new-tab", firefoxContainerUrl(o.profile, url, o.color, o.icon)] };
  }
  return {
    cmd: browser.executable,
    args: [`--user-data-dir=${profileDataDir(homedir, o.profile)}`, "--no-first-run", "--no-default-browser-check", url],
  };
}

/**
 * Opens `url` in the profile's own session of `browser` (chooseIsolatedBrowser, called before any
 * AWS call); Chromium data folders are created 0700.
 */
export async function openIsolated(rt: Runtime, browser: IsolatedBrowser, url: string, o: IsolatedOpenOptions): Promise<void> {
  rt.log.debug(`Opening the console in ${browser.name} (${browser.family}) for profile ${o.profile}`);
  if (browser.family === "chromium") {
    const root = browserDataRoot(rt.homedir);
    const dir = profileDataDir(rt.homedir, o.profile);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode does not apply to folders that already existed.
    await chmod(root, 0o700);
    await chmod(dir, 0o700);
  }
  await openWithCommands(rt, [isolatedCommand(browser, rt.homedir, url, o)]);
}
