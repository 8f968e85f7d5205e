// Loads ~/.aws/config and resolves profiles (aws-vault ConfigLoader.GetProfileConfig):
// flags (BaseConfig) > env > profile section > include_profile chain > [default] > built-in defaults,
// then source_profile hydration. Both include_profile and source_profile loops are detected.

import { readFileSync } from "node:fs";
import { ConfigError } from "../../errors.ts";
import { environmentError } from "../../util/environment-error.ts";
import { tryParseGoDuration } from "../../util/duration.ts";
import { parseIni, type IniDocument, type IniSection, type IniSectionKind } from "./ini.ts";
import {
  DEFAULT_CHAINED_SESSION_DURATION,
  DEFAULT_SESSION_DURATION,
  type BaseConfig,
  type ProfileConfig,
} from "./profile.ts";

export const DEFAULT_PROFILE = "default";

/** Profile keys aws-vault honours (§3.3), plus `endpoint_url` and `services`. */
export const PROFILE_KEYS = [
  "mfa_serial",
  "mfa_process",
  "role_arn",
  "external_id",
  "region",
  "role_session_name",
  "duration_seconds",
  "source_profile",
  "include_profile",
  "sso_session",
  "sso_start_url",
  "sso_region",
  "sso_account_id",
  "sso_role_name",
  "sso_registration_scopes",
  "web_identity_token_file",
  "web_identity_token_process",
  "sts_regional_endpoints",
  "session_tags",
  "transitive_session_tags",
  "source_identity",
  "credential_process",
  "login_session",
  "endpoint_url",
  "services",
] as const;

/** A section's keys (lower-cased) → values. */
export type SectionValues = Readonly<Record<string, string>>;
/** A `[services NAME]` section: service key → its nested `k = v` values. */
export type ServicesSection = Readonly<Record<string, Readonly<Record<string, string>>>>;

const SESSION_TAGS_FORMAT = "session tags string must be <key1>=<value1>,[<key2>=<value2>[,...]]";

const EMPTY_VALUES: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

function errorCode(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "code" in e) {
    const code = (e as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** The reason and fix for an unreadable config file (EACCES, ENOTDIR, EISDIR...), when the environment is to blame. */
export function configReadError(path: string, e: unknown): ConfigError {
  const why = environmentError(e);
  return new ConfigError(`Error reading config file ${path}${why ? `: ${why.message.slice(why.message.lastIndexOf(": ") + 2)}` : ""}`, {
    hints: why?.hints ?? [],
    cause: e,
  });
}

const MIN_ROLE_DURATION_S = 900;
const MAX_ROLE_DURATION_S = 43_200;

function loopError(name: string): ConfigError {
  return new ConfigError(`Loop detected in config file for profile '${name}'`);
}

/** A parsed config file. A missing file is an empty config (it is never created here). */
export class ConfigFile {
  readonly path: string;
  readonly document: IniDocument;
  readonly #defaultSection: IniSection | undefined;
  readonly #profiles: Map<string, IniSection>;
  readonly #ssoSessions: Map<string, IniSection>;
  readonly #services: Map<string, IniSection>;

  constructor(document: IniDocument) {
    this.path = document.fileName;
    this.document = document;
    this.#profiles = new Map();
    this.#ssoSessions = new Map();
    this.#services = new Map();
    let defaultSection: IniSection | undefined;
    for (const section of document.sections) {
      if (section.kind === "default") defaultSection = section;
      else if (section.kind === "profile") this.#profiles.set(section.name, section);
      else if (section.kind === "sso-session") this.#ssoSessions.set(section.name, section);
      else this.#services.set(section.name, section);
    }
    this.#defaultSection = defaultSection;
  }

  static fromText(text: string, path: string): ConfigFile {
    return new ConfigFile(parseIni(text, path));
  }

  static empty(path: string): ConfigFile {
    return ConfigFile.fromText("", path);
  }

  static async load(path: string): Promise<ConfigFile> {
    let text: string;
    try {
      text = readFileSync(path, "utf8"); // sync: one small file, and no node:fs/promises on the hot path
    } catch (e) {
      if (errorCode(e) === "ENOENT") return ConfigFile.empty(path);
      throw configReadError(path, e);
    }
    return ConfigFile.fromText(text, path);
  }

  static loadSync(path: string): ConfigFile {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      if (errorCode(e) === "ENOENT") return ConfigFile.empty(path);
      throw configReadError(path, e);
    }
    return ConfigFile.fromText(text, path);
  }

  /** Profiles in file order. An empty `[default]` is skipped; `[profile default]` is listed as "default". */
  profileNames(): string[] {
    const names: string[] = [];
    const seen = new Set<string>();
    for (const section of this.document.sections) {
      if (section.kind !== "default" && section.kind !== "profile") continue;
      if (section.kind === "default" && isEmptyProfileSection(section)) continue;
      if (seen.has(section.name)) continue;
      seen.add(section.name);
      names.push(section.name);
    }
    return names;
  }

  /**
   * The keys (lower-cased) of the section read for a profile: `[default]` for "default" (never
   * `[profile default]`, an aws-vault quirk), else `[profile NAME]`.
   */
  profileSection(name: string): SectionValues | undefined {
    return this.section(name === DEFAULT_PROFILE ? "default" : "profile", name)?.values;
  }

  /** The keys of `[sso-session NAME]`. */
  ssoSessionSection(name: string): SectionValues | undefined {
    return this.#ssoSessions.get(name)?.values;
  }

  /** `[services NAME]` as service → its nested keys, e.g. `sts` → `{ endpoint_url }`. */
  servicesSection(name: string): ServicesSection | undefined {
    return this.#services.get(name)?.nested;
  }

  /** The full parsed section (values, nested values, line). */
  section(kind: IniSectionKind, name: string): IniSection | undefined {
    switch (kind) {
      case "default":
        return name === DEFAULT_PROFILE ? this.#defaultSection : undefined;
      case "profile":
        return this.#profiles.get(name);
      case "sso-session":
        return this.#ssoSessions.get(name);
      case "services":
        return this.#services.get(name);
    }
  }

  hasProfile(name: string): boolean {
    return this.profileSection(name) !== undefined;
  }

  /**
   * The ignored header that aws-vault v7 would have read as profile `name` (`[profile a b]`: a name
   * with spaces, unquoted), for a hint when that profile is not found.
   */
  unreadProfileHeader(name: string): string | undefined {
    return this.document.ignoredSections.find((h) => h === `profile ${name}`);
  }

  /** Headers of sections that are not profiles, sso-sessions or services. */
  ignoredSections(): readonly string[] {
    return this.document.ignoredSections;
  }
}

/** A profile "exists" if it has a section (`[profile x]`, or `[default]` for "default"). */
export function profileExists(file: ConfigFile, name: string): boolean {
  return file.hasProfile(name);
}

function isEmptyProfileSection(section: IniSection): boolean {
  return PROFILE_KEYS.every((key) => !section.values[key]);
}

/** `k=v,k2=v2` → map. Throws Error with aws-vault's message for malformed input. */
export function parseSessionTags(text: string): Record<string, string> {
  const tags = Object.create(null) as Record<string, string>;
  for (const item of text.split(",")) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? "" : item.slice(0, eq).trim();
    if (key === "") throw new Error(SESSION_TAGS_FORMAT);
    tags[key] = item.slice(eq + 1).trim();
  }
  return tags;
}

/** Comma list, trimmed, empty items dropped. */
export function parseTransitiveSessionTags(text: string): string[] {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag !== "");
}

/**
 * The value of one key as profile resolution would see it: the profile's section, then its
 * include_profile chain, then `[default]`. Empty values count as unset.
 */
export function resolveProfileValue(file: ConfigFile, profileName: string, key: string): string | undefined {
  const visited = new Set<string>();
  let name: string | undefined = profileName;
  while (name !== undefined) {
    if (visited.has(name)) throw loopError(name);
    visited.add(name);
    const values = file.profileSection(name) ?? EMPTY_VALUES;
    const value = values[key];
    if (value) return value;
    name = nextInChain(name, values);
  }
  return undefined;
}

function nextInChain(name: string, values: Readonly<Record<string, string>>): string | undefined {
  const include = values["include_profile"];
  if (include) return include;
  return name === DEFAULT_PROFILE ? undefined : DEFAULT_PROFILE;
}

export interface ConfigLoaderOptions {
  file: ConfigFile;
  /** Flag values; every profile in a chain starts from them. */
  baseConfig: BaseConfig;
  env: Readonly<Record<string, string | undefined>>;
  /** The profile the user asked for; only it receives AWS_ROLE_ARN and friends. */
  activeProfile: string;
  log?: (msg: string) => void;
}

type StringField =
  | "mfaSerial"
  | "mfaProcess"
  | "roleArn"
  | "externalId"
  | "region"
  | "roleSessionName"
  | "sourceProfileName"
  | "ssoStartUrl"
  | "ssoRegion"
  | "ssoAccountId"
  | "ssoRoleName"
  | "ssoRegistrationScopes"
  | "webIdentityTokenFile"
  | "webIdentityTokenProcess"
  | "stsRegionalEndpoints"
  | "sourceIdentity"
  | "credentialProcess"
  | "loginSession"
  | "endpointUrl"
  | "servicesSection";

/** Section keys copied verbatim into string fields (sso_session is handled separately). */
const STRING_KEYS: ReadonlyArray<[string, StringField]> = [
  ["mfa_serial", "mfaSerial"],
  ["mfa_process", "mfaProcess"],
  ["role_arn", "roleArn"],
  ["external_id", "externalId"],
  ["region", "region"],
  ["role_session_name", "roleSessionName"],
  ["source_profile", "sourceProfileName"],
  ["sso_start_url", "ssoStartUrl"],
  ["sso_region", "ssoRegion"],
  ["sso_account_id", "ssoAccountId"],
  ["sso_role_name", "ssoRoleName"],
  ["sso_registration_scopes", "ssoRegistrationScopes"],
  ["web_identity_token_file", "webIdentityTokenFile"],
  ["web_identity_token_process", "webIdentityTokenProcess"],
  ["sts_regional_endpoints", "stsRegionalEndpoints"],
  ["source_identity", "sourceIdentity"],
  ["credential_process", "credentialProcess"],
  ["login_session", "loginSession"],
  ["endpoint_url", "endpointUrl"],
  ["services", "servicesSection"],
];

const SSO_SESSION_KEYS: ReadonlyArray<[string, StringField]> = [
  ["sso_start_url", "ssoStartUrl"],
  ["sso_region", "ssoRegion"],
  ["sso_registration_scopes", "ssoRegistrationScopes"],
];

type DurationField =
  | "assumeRoleDuration"
  | "nonChainedGetSessionTokenDuration"
  | "chainedGetSessionTokenDuration"
  | "getFederationTokenDuration";

const TTL_ENV: ReadonlyArray<[string, DurationField]> = [
  ["AWS_ASSUME_ROLE_TTL", "assumeRoleDuration"],
  ["AWS_SESSION_TOKEN_TTL", "nonChainedGetSessionTokenDuration"],
  ["AWS_CHAINED_SESSION_TOKEN_TTL", "chainedGetSessionTokenDuration"],
  ["AWS_FEDERATION_TOKEN_TTL", "getFederationTokenDuration"],
];

/** The session tags text that won (env beats the file), parsed once the profile is resolved. */
interface TagsSource {
  text?: string;
  origin?: "session_tags" | "AWS_SESSION_TAGS";
}

function isUnset(value: string | number | undefined): boolean {
  return value === undefined || value === "" || value === 0;
}

export class ConfigLoader {
  readonly file: ConfigFile;
  readonly #baseConfig: BaseConfig;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #activeProfile: string;
  readonly #log: (msg: string) => void;

  constructor(opts: ConfigLoaderOptions) {
    this.file = opts.file;
    this.#baseConfig = opts.baseConfig;
    this.#env = opts.env;
    this.#activeProfile = opts.activeProfile;
    this.#log = opts.log ?? (() => undefined);
    for (const header of this.file.ignoredSections()) this.#log(`Unrecognised ini file section: ${header}`);
  }

  /** Resolves a profile and its source_profile chain (config.sourceProfile, sourceProfile.chainedFromProfile). */
  getProfileConfig(name: string): ProfileConfig {
    const chain: ProfileConfig[] = [];
    const visited = new Set<string>();
    let next: string | undefined = name;
    while (next !== undefined) {
      if (visited.has(next)) throw loopError(next);
      visited.add(next);
      const config = this.#resolveOne(next);
      chain.push(config);
      next = config.sourceProfileName;
    }
    for (let i = 1; i < chain.length; i++) {
      const requester = chain[i - 1] as ProfileConfig;
      const source = chain[i] as ProfileConfig;
      requester.sourceProfile = source;
      source.chainedFromProfile = requester;
    }
    return chain[0] as ProfileConfig;
  }

  #resolveOne(name: string): ProfileConfig {
    const config: ProfileConfig = { profileName: name };
    const tags: TagsSource = {};
    this.#populateFromBase(config);
    this.#populateFromEnv(config, tags);
    this.#populateFromConfigFile(config, tags);
    populateFromDefaults(config);
    this.#applySessionTags(config, tags);
    return config;
  }

  /**
   * Session tags are sent only with AssumeRole, so malformed tags fail only a profile with a
   * role_arn (before any call, naming the profile); elsewhere they are ignored, with a debug line.
   */
  #applySessionTags(config: ProfileConfig, tags: TagsSource): void {
    if (tags.text === undefined) return;
    let parsed: Record<string, string>;
    try {
      parsed = parseSessionTags(tags.text);
    } catch (e) {
      if (!config.roleArn) {
        this.#log(`Ignoring invalid ${tags.origin} in profile '${config.profileName}': it has no role_arn`);
        return;
      }
      const where =
        tags.origin === "session_tags"
          ? `Failed to parse session_tags profile setting in profile '${config.profileName}' (${this.file.path})`
          : `Failed to parse AWS_SESSION_TAGS environment variable for profile '${config.profileName}'`;
      throw new ConfigError(`${where}: ${SESSION_TAGS_FORMAT}`, { cause: e });
    }
    config.sessionTags = parsed;
  }

  #populateFromBase(config: ProfileConfig): void {
    const base = this.#baseConfig;
    if (!isUnset(base.region)) config.region = base.region;
    if (!isUnset(base.mfaToken)) config.mfaToken = base.mfaToken;
    if (!isUnset(base.mfaPromptMethod)) config.mfaPromptMethod = base.mfaPromptMethod;
    if (!isUnset(base.assumeRoleDuration)) config.assumeRoleDuration = base.assumeRoleDuration;
    if (!isUnset(base.nonChainedGetSessionTokenDuration)) {
      config.nonChainedGetSessionTokenDuration = base.nonChainedGetSessionTokenDuration;
    }
    if (!isUnset(base.chainedGetSessionTokenDuration)) {
      config.chainedGetSessionTokenDuration = base.chainedGetSessionTokenDuration;
    }
    if (!isUnset(base.getFederationTokenDuration)) config.getFederationTokenDuration = base.getFederationTokenDuration;
    if (base.ssoUseStdout !== undefined) config.ssoUseStdout = base.ssoUseStdout;
    if (base.ssoUseDeviceCode !== undefined) config.ssoUseDeviceCode = base.ssoUseDeviceCode;
  }

  #envValue(name: string): string | undefined {
    const value = this.#env[name];
    return value === undefined || value === "" ? undefined : value;
  }

  #populateFromEnv(config: ProfileConfig, tags: TagsSource): void {
    const fillFromEnv = (envName: string, field: StringField): void => {
      const value = this.#envValue(envName);
      if (value !== undefined && isUnset(config[field])) {
        this.#log(`Using ${field} ${JSON.stringify(value)} from ${envName}`);
        config[field] = value;
      }
    };

    fillFromEnv("AWS_REGION", "region");
    fillFromEnv("AWS_DEFAULT_REGION", "region");
    fillFromEnv("AWS_STS_REGIONAL_ENDPOINTS", "stsRegionalEndpoints");
    fillFromEnv("AWS_MFA_SERIAL", "mfaSerial");
    for (const [envName, field] of TTL_ENV) {
      const text = this.#envValue(envName);
      if (text === undefined || !isUnset(config[field])) continue;
      const ms = tryParseGoDuration(text);
      if (ms !== undefined && ms > 0) {
        this.#log(`Using ${envName}: ${text}`);
        config[field] = ms;
      }
    }
    fillFromEnv("AWS_ENDPOINT_URL", "endpointUrl");

    if (config.profileName !== this.#activeProfile) return;

    fillFromEnv("AWS_ROLE_ARN", "roleArn");
    fillFromEnv("AWS_ROLE_SESSION_NAME", "roleSessionName");
    const sessionTags = this.#envValue("AWS_SESSION_TAGS");
    if (sessionTags !== undefined && tags.text === undefined) {
      tags.text = sessionTags;
      tags.origin = "AWS_SESSION_TAGS";
    }
    const transitive = this.#envValue("AWS_TRANSITIVE_TAGS");
    if (transitive !== undefined && config.transitiveSessionTags === undefined) {
      const tags = parseTransitiveSessionTags(transitive);
      if (tags.length > 0) config.transitiveSessionTags = tags;
    }
    fillFromEnv("AWS_SOURCE_IDENTITY", "sourceIdentity");
  }

  /** Walks the section, its include_profile chain and [default], filling only unset fields. */
  #populateFromConfigFile(config: ProfileConfig, tags: TagsSource): void {
    const visited = new Set<string>();
    let name: string | undefined = config.profileName;
    while (name !== undefined) {
      if (visited.has(name)) throw loopError(name);
      visited.add(name);
      const section = this.file.profileSection(name);
      if (section === undefined) this.#log(`Profile '${name}' missing in config file`);
      const values = section ?? EMPTY_VALUES;
      this.#applySection(config, values, tags, name);
      name = nextInChain(name, values);
    }
    // The "parent" style: [profile root] source_profile=root, included by its children.
    if (config.sourceProfileName === config.profileName) config.sourceProfileName = undefined;
  }

  #applySection(config: ProfileConfig, values: Readonly<Record<string, string>>, tags: TagsSource, sectionName: string): void {
    for (const [key, field] of STRING_KEYS) {
      const value = values[key];
      if (value && isUnset(config[field])) config[field] = value;
    }

    const durationSeconds = values["duration_seconds"];
    if (durationSeconds && isUnset(config.assumeRoleDuration)) {
      if (/^\+?[0-9]{1,9}$/.test(durationSeconds) && Number(durationSeconds) > 0) {
        const seconds = Number(durationSeconds);
        // AssumeRole takes 900 to 43200 seconds; STS would refuse anything else only after the MFA code was typed.
        if (seconds < MIN_ROLE_DURATION_S || seconds > MAX_ROLE_DURATION_S) {
          throw new ConfigError(
            `invalid duration_seconds ${seconds} in profile '${sectionName}' of ${this.file.path}: roles allow ${MIN_ROLE_DURATION_S} to ${MAX_ROLE_DURATION_S} seconds (15m to 12h)`,
            { hints: ["set duration_seconds within that range (and at most the role's maximum session duration), or remove it"] },
          );
        }
        config.assumeRoleDuration = seconds * 1000;
      } else {
        this.#log(`Ignoring invalid duration_seconds in profile '${config.profileName}'`);
      }
    }

    // Inline sso_* values (applied above) win over the [sso-session] they name: only unset fields are filled.
    const ssoSession = values["sso_session"];
    if (ssoSession && isUnset(config.ssoSession)) {
      config.ssoSession = ssoSession;
      const ssoSection = this.file.ssoSessionSection(ssoSession);
      if (ssoSection === undefined) {
        this.#log(`[sso-session] '${ssoSession}' missing in config file`);
      } else {
        for (const [key, field] of SSO_SESSION_KEYS) {
          const value = ssoSection[key];
          if (value && isUnset(config[field])) config[field] = value;
        }
      }
    }

    const sessionTags = values["session_tags"];
    if (sessionTags && tags.text === undefined) {
      tags.text = sessionTags;
      tags.origin = "session_tags";
    }
    const transitive = values["transitive_session_tags"];
    if (transitive && config.transitiveSessionTags === undefined) {
      const tags = parseTransitiveSessionTags(transitive);
      if (tags.length > 0) config.transitiveSessionTags = tags;
    }
  }
}

function populateFromDefaults(config: ProfileConfig): void {
  if (isUnset(config.assumeRoleDuration)) config.assumeRoleDuration = DEFAULT_SESSION_DURATION;
  if (isUnset(config.getFederationTokenDuration)) config.getFederationTokenDuration = DEFAULT_SESSION_DURATION;
  if (isUnset(config.nonChainedGetSessionTokenDuration)) {
    config.nonChainedGetSessionTokenDuration = DEFAULT_SESSION_DURATION;
  }
  if (isUnset(config.chainedGetSessionTokenDuration)) {
    config.chainedGetSessionTokenDuration = DEFAULT_CHAINED_SESSION_DURATION;
  }
}

export type EndpointService = "sts" | "iam" | "sso" | "sso_oidc" | "signin";

const SERVICE_ENV_SUFFIX: Readonly<Record<EndpointService, string>> = {
  sts: "STS",
  iam: "IAM",
  sso: "SSO",
  sso_oidc: "SSO_OIDC",
  signin: "SIGNIN",
};

/**
 * The configured endpoint URL for one service (AWS SDK rule): AWS_ENDPOINT_URL_<SERVICE> >
 * AWS_ENDPOINT_URL > the profile's `[services NAME]` `<service> = endpoint_url = …` > the profile's
 * `endpoint_url`. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (or `ignore_configured_endpoint_urls = true`
 * in the profile when the env var is unset) disables all of them. Returns undefined for the SDK default.
 */
export function serviceEndpoint(
  file: ConfigFile,
  profile: ProfileConfig | string,
  service: EndpointService,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const profileName = typeof profile === "string" ? profile : profile.profileName;
  const ignoreEnv = env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"];
  const ignoreSetting = ignoreEnv ? ignoreEnv : resolveProfileValue(file, profileName, "ignore_configured_endpoint_urls");
  if (ignoreSetting?.trim().toLowerCase() === "true") return undefined;

  const serviceUrl = env[`AWS_ENDPOINT_URL_${SERVICE_ENV_SUFFIX[service]}`];
  if (serviceUrl) return serviceUrl;
  const globalUrl = env["AWS_ENDPOINT_URL"];
  if (globalUrl) return globalUrl;

  const servicesName =
    typeof profile === "string" ? resolveProfileValue(file, profile, "services") : profile.servicesSection;
  if (servicesName) {
    const url = file.servicesSection(servicesName)?.[service]?.["endpoint_url"];
    if (url) return url;
  }
  const profileUrl = typeof profile === "string" ? resolveProfileValue(file, profile, "endpoint_url") : profile.endpointUrl;
  return profileUrl ? profileUrl : undefined;
}
