// What `--help` and the man page say beyond the flags: the environment variables that affect each
// command, and an example or two. One entry per command name ("" is the program itself); a new
// command adds its own entry here (a subcommand's key is its path: "sso populate"). Loaded only by the help and man-page paths.

export interface EnvDoc {
  name: string;
  description: string;
}

export interface ExampleDoc {
  command: string;
  description: string;
}

export interface CommandDocs {
  env?: readonly EnvDoc[];
  examples?: readonly ExampleDoc[];
}

const CREDENTIAL_ENV: readonly EnvDoc[] = [
  { name: "AWS_CONFIG_FILE", description: "the config file to read (default ~/.aws/config)" },
  { name: "AWS_REGION, AWS_DEFAULT_REGION", description: "the region for STS and for the credentials, unless --region" },
  { name: "AWS_MFA_SERIAL", description: "the MFA device, for profiles without mfa_serial" },
  { name: "AWS_ASSUME_ROLE_TTL", description: "the assume-role session length" },
  { name: "AWS_SESSION_TOKEN_TTL, AWS_CHAINED_SESSION_TOKEN_TTL", description: "the GetSessionToken session length" },
  { name: "AWS_MIN_TTL", description: "how long a cached session must still be valid to be reused (default 5m)" },
  { name: "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>", description: "other STS, SSO or IAM endpoints" },
  { name: "AWS_VAULT_PROMPT", description: "the MFA prompt driver, unless --prompt" },
  { name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase (otherwise asked on the terminal)" },
  { name: "BROWSER", description: "the browser that opens the SSO verification page" },
];

const AGENT_SOCK_ENV: EnvDoc = { name: "AWS_VAULT_AGENT_SOCK", description: "the agent's socket (default $XDG_RUNTIME_DIR/aws-vault/agent.sock)" };

const YKMAN_ENV: readonly EnvDoc[] = [
  { name: "YKMAN_OATH_CREDENTIAL_NAME", description: "the OATH account ykman reads (default: the MFA serial)" },
  { name: "YKMAN_OATH_DEVICE_SERIAL", description: "the YubiKey to use when several are plugged in" },
];

export const COMMAND_DOCS: Readonly<Record<string, CommandDocs>> = {
  "": {
    env: [
      { name: "AWS_VAULT_BACKEND", description: "the keyring backend, unless --backend" },
      { name: "AWS_VAULT_PROMPT", description: "the MFA prompt driver, unless --prompt" },
      { name: "AWS_VAULT_KEYCHAIN_NAME", description: "the macOS keychain name" },
      { name: "AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME", description: "the secret-service collection" },
      { name: "AWS_VAULT_PASS_PASSWORD_STORE_DIR, AWS_VAULT_PASS_CMD, AWS_VAULT_PASS_PREFIX", description: "the pass backend" },
      { name: "AWS_VAULT_FILE_DIR", description: "the file backend's folder (default ~/.awsvault/keys)" },
      { name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase (otherwise asked on the terminal)" },
      { name: "AWS_VAULT_FILE_PASSPHRASE_CMD", description: "a command that prints the file backend's passphrase" },
      { name: "AWS_VAULT_AGENT", description: "auto: a passphrase asked for unlocks an agent; off: bypass the agent (as --no-agent)" },
      { name: "AWS_VAULT_KEYRING_TIMEOUT", description: "how long a keyring call may take (default 10s)" },
      { name: "AWS_CONFIG_FILE", description: "the config file (default ~/.aws/config)" },
      { name: "NO_COLOR", description: "when set, no colour even on a terminal" },
    ],
    examples: [
      { command: "aws-vault add jonsmith", description: "store long-term keys for the profile jonsmith" },
      { command: "aws-vault exec jonsmith -- aws s3 ls", description: "run a command with temporary credentials" },
    ],
  },
  add: {
    env: [
      { name: "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY", description: "the keys, with --env" },
      { name: "AWS_CONFIG_FILE", description: "where [profile NAME] is added" },
      { name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase" },
    ],
    examples: [
      { command: "aws-vault add jonsmith", description: "asks for the access key id and the secret key" },
      { command: "aws-vault add --env jonsmith", description: "reads them from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" },
    ],
  },
  remove: {
    env: [{ name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase" }],
    examples: [{ command: "aws-vault remove -f jonsmith", description: "delete the stored keys without asking" }],
  },
  list: {
    env: [
      { name: "AWS_CONFIG_FILE", description: "the config file whose profiles are listed" },
      { name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase" },
    ],
    examples: [
      { command: "aws-vault list", description: "profiles, stored credentials and cached sessions" },
      { command: "aws-vault list --profiles", description: "profile names only, one per line" },
      { command: "aws-vault list --long", description: "also each stored key's age and last rotation" },
    ],
  },
  rotate: {
    env: [...CREDENTIAL_ENV.filter((e) => !e.name.startsWith("BROWSER")), ...YKMAN_ENV],
    examples: [
      { command: "aws-vault rotate jonsmith", description: "replace the stored access key with a new one" },
      { command: "aws-vault rotate --all --older-than 90d --dry-run", description: "list the stored keys older than 90 days that would be rotated" },
    ],
  },
  exec: {
    env: [
      ...CREDENTIAL_ENV,
      ...YKMAN_ENV,
      { name: "SHELL", description: "the program run when no command is given" },
      { name: "AWS_VAULT", description: "set in the child; exec refuses to run inside such a subshell" },
      { name: "AWS_VAULT_DISABLE_HELP_MESSAGE", description: "1: no \"Starting subshell\" line" },
      { name: "AWS_VAULT_EC2_PROXY", description: "off: --ec2-server without the root proxy" },
      { name: "AWS_VAULT_ROTATE_AFTER", description: "key age after which a reminder is printed on stderr (default 90d; off)" },
      { name: "AWS_VAULT_AUDIT", description: "off: no line in ~/.awsvault/audit.log" },
    ],
    examples: [
      { command: "aws-vault exec jonsmith -- aws s3 ls", description: "run one command with temporary credentials" },
      { command: "aws-vault exec --duration 8h default", description: "a subshell with an 8-hour session" },
    ],
  },
  export: {
    env: [...CREDENTIAL_ENV, ...YKMAN_ENV],
    examples: [
      { command: "aws-vault export --format json work", description: "the credential_process document" },
      { command: "eval \"$(aws-vault export --format export-env work)\"", description: "credentials into the current shell" },
    ],
  },
  clear: {
    env: [{ name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase" }],
    examples: [{ command: "aws-vault clear jonsmith", description: "drop the profile's cached sessions" }],
  },
  login: {
    env: [
      ...CREDENTIAL_ENV,
      ...YKMAN_ENV,
      { name: "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN", description: "the credentials, when no profile is given" },
      { name: "AWS_ENDPOINT_URL_SIGNIN", description: "another federation endpoint" },
    ],
    examples: [
      { command: "aws-vault login jonsmith", description: "open the AWS console in the browser" },
      { command: "aws-vault login --stdout jonsmith", description: "print the sign-in link instead" },
      { command: "aws-vault login --browser-profile work", description: "a browser session of the profile's own" },
    ],
  },
  sso: {
    examples: [{ command: "aws-vault sso populate --sso-session corp --dry-run", description: "show the profiles it would add" }],
  },
  "sso populate": {
    env: [
      { name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase" },
      { name: "AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL_SSO_OIDC", description: "other SSO endpoints" },
    ],
    examples: [
      { command: "aws-vault sso populate --sso-session corp", description: "a profile per account and role" },
      { command: "aws-vault sso populate --sso-session corp --prefix corp- --dry-run", description: "show them first" },
    ],
  },
  import: {
    env: [
      { name: "AWS_SHARED_CREDENTIALS_FILE", description: "the credentials file to read, unless --from (default ~/.aws/credentials)" },
      { name: "AWS_CONFIG_FILE", description: "where [profile NAME] sections are added; with --login-cache, the login_session profiles" },
      { name: "AWS_LOGIN_CACHE_DIRECTORY", description: "with --login-cache: the AWS CLI's login cache (default ~/.aws/login/cache)" },
      { name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase" },
    ],
    examples: [
      { command: "aws-vault import --scrub --dry-run", description: "show what would be imported and removed from the file" },
      { command: "aws-vault import --scrub", description: "store and verify every long-term key, then remove its lines" },
      { command: "aws-vault import --login-cache --scrub", description: "move `aws login` sessions into the keyring (not for profiles the AWS CLI still uses)" },
    ],
  },
  doctor: {
    env: [
      { name: "AWS_SHARED_CREDENTIALS_FILE", description: "the credentials file checked for plaintext keys" },
      { name: "AWS_VAULT_ROTATE_AFTER", description: "the key age --online warns about (default 90d)" },
      { name: "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>", description: "other STS and IAM endpoints for --online" },
    ],
    examples: [
      { command: "aws-vault doctor", description: "offline checks of the config, plaintext keys and the keyring" },
      { command: "aws-vault doctor --online --format json", description: "also ask AWS; a document for scripts and CI" },
    ],
  },
  audit: {
    env: [{ name: "AWS_VAULT_AUDIT", description: "off: credential hand-outs are not logged" }],
    examples: [{ command: "aws-vault audit --since 24h --profile work", description: "who got the profile's credentials in the last day" }],
  },
  "migrate-backend": {
    env: [{ name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase" }],
    examples: [{ command: "aws-vault migrate-backend --from file --to secret-service --dry-run", description: "show what would move" }],
  },
  proxy: {
    env: [{ name: "AWS_VAULT_EC2_PROXY", description: "off: exec --ec2-server does not start this proxy" }],
    examples: [{ command: "aws-vault proxy --stop", description: "stop the root metadata proxy started by exec --ec2-server" }],
  },
  signin: {
    env: [
      { name: "AWS_CONFIG_FILE", description: "the config file that gets login_session (and region)" },
      { name: "AWS_REGION, AWS_DEFAULT_REGION", description: "the sign-in region when neither --region nor the profile sets one" },
      { name: "AWS_ENDPOINT_URL_SIGNIN", description: "another AWS Sign-In endpoint" },
      { name: "AWS_VAULT_FILE_PASSPHRASE", description: "the file backend's passphrase" },
      { name: "BROWSER", description: "the browser that opens the sign-in page" },
    ],
    examples: [
      { command: "aws-vault signin dev", description: "sign in with console credentials in the browser" },
      { command: "aws-vault signin --remote dev", description: "on an SSH host: open the URL elsewhere, paste the code" },
    ],
  },
  completion: {
    examples: [
      { command: "eval \"$(aws-vault completion bash)\"", description: "in ~/.bashrc" },
      { command: "aws-vault completion fish > ~/.config/fish/completions/aws-vault.fish", description: "for fish" },
    ],
  },
  version: {
    examples: [{ command: "aws-vault version", description: "the version, the runtime and the compatible aws-vault version" }],
  },
  unlock: {
    env: [
      { name: "AWS_VAULT_AGENT_TTL, AWS_VAULT_AGENT_IDLE", description: "when the agent locks itself, unless --ttl and --idle (default 8h, 1h)" },
      { name: "AWS_VAULT_FILE_PASSPHRASE_CMD", description: "a command that prints the passphrase (otherwise asked on the terminal)" },
      AGENT_SOCK_ENV,
    ],
    examples: [{ command: "aws-vault unlock --ttl 10h", description: "type the file keyring's passphrase once for the day" }],
  },
  lock: {
    env: [AGENT_SOCK_ENV],
    examples: [{ command: "aws-vault lock", description: "the agent forgets the passphrase now" }],
  },
  agent: {
    env: [AGENT_SOCK_ENV],
    examples: [{ command: "aws-vault agent status", description: "unlocked or not, time left, socket" }],
  },
  "agent status": {
    env: [AGENT_SOCK_ENV],
    examples: [{ command: "aws-vault agent status && aws-vault exec prod -- make", description: "run only when unlocked" }],
  },
  "agent stop": {
    env: [AGENT_SOCK_ENV],
    examples: [{ command: "aws-vault agent stop", description: "stop the agent (it forgets the passphrase)" }],
  },
  "agent start": {
    env: [AGENT_SOCK_ENV],
    examples: [{ command: "aws-vault agent start --foreground", description: "under a systemd user unit or a launchd job (docs/agent.md)" }],
  },
};

export function docsFor(commandName: string): CommandDocs {
  return COMMAND_DOCS[commandName] ?? {};
}
