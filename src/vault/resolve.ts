// Provider selection for a profile (aws-vault vault.go TempCredentialsCreator, §4.2): stored keys
// or source_profile first, then SSO, web identity and credential_process. GetSessionToken is used
// at most once, at the bottom hop; MFA satisfied there is not asked again on hops with the same
// serial. Each decision is logged with its reason.
import { CredentialsError } from "../errors.ts";
import { keysMatching } from "../keyring/keyring.ts";
import { formatGoDuration } from "../util/duration.ts";
import {
  DEFAULT_SESSION_DURATION,
  getSessionTokenDuration,
  hasMfaSerial,
  isChained,
  type ProfileConfig,
  ROLE_CHAINING_MAXIMUM_DURATION,
} from "./config/profile.ts";
import { cachedSessionProvider } from "./cached-session.ts";
import { assumeRoleProvider } from "./providers/assume-role.ts";
import { masterCredentialsProvider } from "./providers/master.ts";
import { type CredentialsProvider, type ProviderKind, unwrap, type VaultDeps } from "./providers/provider.ts";
import { sessionTokenProvider } from "./providers/session-token.ts";
import type { SessionType } from "./session-key.ts";

/** Providers whose credentials are role sessions: assuming a role from them is role chaining (at most 1h). */
const ROLE_SESSION_KINDS: ReadonlySet<ProviderKind> = new Set<ProviderKind>(["assume-role", "web-identity", "sso", "login-session"]);

export interface ResolveOptions {
  /** --no-session: no GetSessionToken anywhere in the chain. */
  disableSessions?: boolean;
  /** login: the target profile itself never gets a GetSessionToken session. */
  disableSessionsForProfile?: string;
  /** rotate: always fresh credentials, nothing cached. */
  disableCache?: boolean;
  /** The user gave --duration: cached sessions must cover it. */
  explicitDuration?: boolean;
}

export class ProviderResolver {
  #chainedMfa = "";
  /**
   * Which profiles have stored keys: the first hop lists the names of its whole source_profile
   * chain at once (one listing per resolution, only those names; nothing is written meanwhile).
   */
  readonly #stored = new Map<string, Promise<Set<string>>>();

  constructor(
    private readonly deps: VaultDeps,
    private readonly opts: ResolveOptions = {},
  ) {}

  #log(message: string): void {
    this.deps.rt.log.debug(message);
  }

  async providerFor(c: ProfileConfig): Promise<CredentialsProvider> {
    const hasStored = (await this.#storedAmong(c)).has(c.profileName);
    if (hasStored || c.sourceProfile) return this.#sourceCredentialsWithSession(c, hasStored);
    if (c.loginSession) {
      this.#log(`profile ${c.profileName}: using console sign-in session ${c.loginSession}`);
      // The keyring item is the cache: it is refreshed in place, so no session cache around it.
      // This provider and the next three are loaded when chosen: a stored-keys hand-out skips their code.
      const { loginSessionProvider } = await import("./providers/login-session.ts");
      return loginSessionProvider(this.deps, c);
    }
    if (c.ssoStartUrl) {
      this.#log(`profile ${c.profileName}: using SSO role credentials`);
      const { ssoRoleProvider } = await import("./providers/sso-role.ts");
      const provider = ssoRoleProvider(this.deps, c, { cacheToken: !this.opts.disableCache });
      // The session is keyed with the start URL in the MFA slot; SSO has no duration to ask for.
      return this.#cached("sso.GetRoleCredentials", { ...c, mfaSerial: c.ssoStartUrl }, provider, undefined);
    }
    if (c.webIdentityTokenFile || c.webIdentityTokenProcess) {
      this.#log(`profile ${c.profileName}: using web identity`);
      const durationMs = c.assumeRoleDuration ?? DEFAULT_SESSION_DURATION;
      const { webIdentityProvider } = await import("./providers/web-identity.ts");
      const provider = webIdentityProvider(this.deps, c, { durationMs });
      return this.#cached("sts.AssumeRoleWithWebIdentity", { ...c, mfaSerial: undefined }, provider, durationMs);
    }
    if (c.credentialProcess) {
      this.#log(`profile ${c.profileName}: using credential process`);
      const { cacheTemporaryOnly, credentialProcessProvider } = await import("./providers/credential-process.ts");
      const provider = credentialProcessProvider(this.deps, c);
      if (this.opts.disableCache) return provider;
      // Only temporary credentials are cached; long-lived keys from the process are not stored.
      return cacheTemporaryOnly(provider, (inner) => this.#cached("credential_process", { ...c, mfaSerial: undefined }, inner, undefined));
    }
    throw new CredentialsError(`profile ${c.profileName}: credentials missing`, {
      hints: [`store keys with \`aws-vault add ${c.profileName}\`, or give the profile a source_profile, SSO or credential_process`],
    });
  }

  #storedAmong(c: ProfileConfig): Promise<Set<string>> {
    const known = this.#stored.get(c.profileName);
    if (known) return known;
    const names = new Set<string>();
    for (let p: ProfileConfig | undefined = c; p && !this.#stored.has(p.profileName); p = p.sourceProfile) names.add(p.profileName);
    const listed = keysMatching(this.deps.keyring, (k) => names.has(k)).then((keys) => new Set(keys));
    for (const name of names) this.#stored.set(name, listed);
    return listed;
  }

  /**
   * Wraps a hop in the session cache. `durationMs` is the duration this hop asks for when --duration
   * sets it; a cached session must then cover it. Hops whose duration --duration does not set (the
   * chained GetSessionToken) pass undefined and take any unexpired session, as aws-vault does.
   */
  #cached(
    type: SessionType,
    c: ProfileConfig,
    inner: CredentialsProvider,
    durationMs: number | undefined,
  ): CredentialsProvider {
    if (this.opts.disableCache) return inner;
    return cachedSessionProvider(
      this.deps,
      { type, profileName: c.profileName, mfaSerial: c.mfaSerial ?? "" },
      inner,
      this.opts.explicitDuration && durationMs !== undefined ? { requiredDurationMs: durationMs } : {},
    );
  }

  async #sourceCredentialsWithSession(c: ProfileConfig, hasStored: boolean): Promise<CredentialsProvider> {
    let source: CredentialsProvider;
    if (hasStored) {
      this.#log(`profile ${c.profileName}: using stored credentials`);
      source = masterCredentialsProvider(this.deps, c.profileName);
    } else {
      const sp = c.sourceProfile as ProfileConfig;
      this.#log(`profile ${c.profileName}: sourcing credentials from profile ${sp.profileName}`);
      source = await this.providerFor(sp);
    }

    if (c.roleArn) {
      const mfaChained = Boolean(c.mfaSerial) && c.mfaSerial === this.#chainedMfa;
      const hop: ProfileConfig = mfaChained ? { ...c, mfaSerial: undefined } : c;
      this.#log(
        `profile ${c.profileName}: using AssumeRole ${mfaChained ? "(chained MFA)" : hop.mfaSerial ? "(with MFA)" : ""}`.trimEnd(),
      );
      let durationMs = c.assumeRoleDuration ?? DEFAULT_SESSION_DURATION;
      if (ROLE_SESSION_KINDS.has(unwrap(source).kind) && durationMs > ROLE_CHAINING_MAXIMUM_DURATION) {
        this.#log(
          `profile ${c.profileName}: capping AssumeRole duration from ${formatGoDuration(durationMs)} to AWS maximum ${formatGoDuration(ROLE_CHAINING_MAXIMUM_DURATION)} for role chaining`,
        );
        durationMs = ROLE_CHAINING_MAXIMUM_DURATION;
      }
      const provider = assumeRoleProvider(this.deps, hop, source, { durationMs });
      // aws-vault caches AssumeRole only when it asks for MFA itself.
      return hop.mfaSerial ? this.#cached("sts.AssumeRole", hop, provider, durationMs) : provider;
    }

    if (source.kind === "master") {
      const [ok, reason] = this.#canUseGetSessionToken(c);
      if (ok) {
        this.#chainedMfa = c.mfaSerial ?? "";
        this.#log(`profile ${c.profileName}: using GetSessionToken ${c.mfaSerial ? "(with MFA)" : ""}`.trimEnd());
        // --duration sets the duration of a target's own session, not of the 8h session a role is chained from.
        const requested = isChained(c) ? undefined : getSessionTokenDuration(c);
        return this.#cached("sts.GetSessionToken", c, sessionTokenProvider(this.deps, c, source), requested);
      }
      this.#log(`profile ${c.profileName}: skipping GetSessionToken because ${reason}`);
    }
    return source;
  }

  #canUseGetSessionToken(c: ProfileConfig): [boolean, string] {
    if (this.opts.disableSessions) return [false, "sessions are disabled"];
    if (this.opts.disableSessionsForProfile === c.profileName) return [false, "sessions are disabled for this profile"];
    const p = c.chainedFromProfile;
    if (p) {
      if (!hasMfaSerial(p)) return [false, `profile '${p.profileName}' has no MFA serial defined`];
      if (!hasMfaSerial(c)) return [false, `profile '${c.profileName}' has no MFA serial defined`];
      if (p.mfaSerial !== c.mfaSerial) return [false, `MFA serial doesn't match profile '${p.profileName}'`];
      const d = p.assumeRoleDuration ?? DEFAULT_SESSION_DURATION;
      if (d > ROLE_CHAINING_MAXIMUM_DURATION) {
        return [
          false,
          `duration ${formatGoDuration(d)} in profile '${p.profileName}' is greater than the AWS maximum ${formatGoDuration(ROLE_CHAINING_MAXIMUM_DURATION)} for chaining MFA`,
        ];
      }
    }
    return [true, ""];
  }
}
