// Shell completion in the real shells from Debian (bash, zsh, fish), against the built program on
// PATH: our scripts (`aws-vault completion SHELL`), TAB pressed at partial command lines in a
// pseudo-terminal (bash, zsh) or fish's completion engine (`complete -C`), and the calling
// conventions of aws-vault's own contrib scripts, which send the words in three different shapes.
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, type Artifact, run, sandbox } from "../support/cli.ts";
import { shQuote } from "../support/fake-runtime.ts";
import { runInPty } from "../support/pty.ts";

const execFileP = promisify(execFile);

const CONFIG = `[default]
region = us-east-1

[profile prod]
region = eu-west-1

[profile prod-admin]
source_profile = prod

[profile dev]
`;

/** A sandbox whose PATH starts with an `aws-vault` that runs the artifact. */
function shellEnv(artifact: Artifact): Record<string, string> {
  const sb = sandbox();
  writeFileSync(sb.configPath, CONFIG);
  const bin = join(mkdtempSync(join(tmpdir(), "awsv-bin-")), "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "aws-vault"), `#!/bin/sh\nexec ${artifact.argv.map(shQuote).join(" ")} "$@"\n`);
  chmodSync(join(bin, "aws-vault"), 0o755);
  return { ...sb.env, PATH: `${bin}:${sb.env.PATH}`, TERM: "xterm", HOME: sb.home };
}

/** A shell's first prompt (`$ `, `# `, `% `), maybe followed by terminal mode switches. */
const PROMPT_END = /[$#%] (?:\u001b\[[0-9;?]*[A-Za-z])*$/;

function lines(s: string): string[] {
  return s.split("\n").filter(Boolean);
}

describe.each(ARTIFACTS)("completion ($name)", (artifact) => {
  it("speaks kingpin's protocol: --completion-bash prints one candidate per line", async () => {
    const env = shellEnv(artifact);
    const r = await run(artifact, ["--completion-bash", "exec", "pr"], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("prod\nprod-admin\n");
    expect(r.stderr).toBe("");
    for (const flag of ["--completion-script-bash", "--completion-script-zsh"]) {
      const s = await run(artifact, [flag], { env });
      expect(s.code).toBe(0);
      expect(s.stdout).toContain("--completion-bash");
    }
    const bad = await run(artifact, ["completion", "tcsh"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("enum value must be one of bash,zsh,fish, got 'tcsh'");
  });

  it("bash: TAB completes commands, profiles and flag values", async () => {
    const env = shellEnv(artifact);
    const setup = `eval "$(aws-vault completion bash)"; bind -x '"\\C-t": printf "BUFFER<%s>\\n" "$READLINE_LINE"'; PS1="BA""SH> "\r`;
    const r = await runInPty(["bash", "--norc", "--noprofile", "-i"], env, [
      { expect: PROMPT_END, send: setup },
      { expect: /BASH> /, send: "aws-vault exe\t\x14" },
      { expect: /BUFFER<aws-vault exec >/, send: "\x15aws-vault ex\t\t" },
      { expect: /exec\s+export/, send: "\x15aws-vault exec prod-\t\x14" },
      { expect: /BUFFER<aws-vault exec prod-admin >/, send: "\x15aws-vault --backend fi\t\x14" },
      { expect: /BUFFER<aws-vault --backend file >/, send: "\x15aws-vault export --format js\t\x14" },
      { expect: /BUFFER<aws-vault export --format json >/, send: "\x15exit\r" },
    ]);
    expect(r.answered, r.output).toBe(7);
  });

  it("zsh: TAB completes commands, profiles and flag values", async () => {
    const env = shellEnv(artifact);
    const setup = `autoload -U compinit && compinit -u; eval "$(aws-vault completion zsh)"; show() { zle -M "BUFFER<$BUFFER>" }; zle -N show; bindkey '^T' show; PS1="ZS""H> "\r`;
    const r = await runInPty(["zsh", "-f", "-i"], env, [
      { expect: PROMPT_END, send: setup },
      { expect: /ZSH> /, send: "aws-vault exe\t\x14" },
      { expect: /BUFFER<aws-vault exec >/, send: "\x15aws-vault ex\t" },
      { expect: /exec\s+export/, send: "\x15aws-vault exec prod-\t\x14" },
      { expect: /BUFFER<aws-vault exec prod-admin >/, send: "\x15aws-vault --backend fi\t\x14" },
      { expect: /BUFFER<aws-vault --backend file >/, send: "\x15exit\r" },
    ]);
    expect(r.answered, r.output).toBe(6);
  });

  it("fish: the completion engine offers commands, profiles, flags and values", async () => {
    const env = shellEnv(artifact);
    const fish = async (line: string) =>
      lines((await execFileP("fish", ["--no-config", "-c", `aws-vault completion fish | source; complete -C${shQuote(line)}`], { env })).stdout).map(
        (l) => l.split("\t")[0],
      );
    expect(await fish("aws-vault ex")).toEqual(["exec", "export"]);
    expect(await fish("aws-vault exec pr")).toEqual(["prod", "prod-admin"]);
    expect(await fish("aws-vault --backend ")).toEqual(expect.arrayContaining(["file"]));
    expect(await fish("aws-vault export --format ")).toEqual(["env", "export-env", "ini", "json"]);
    // The command's flags, then the global ones (--no-agent).
    expect(await fish("aws-vault exec --no-")).toEqual(["--no-agent", "--no-session"]);
    // After `--`, the wrapped command is completed by fish itself.
    expect(await fish("aws-vault exec prod -- ech")).toContain("echo");
  });

  it("aws-vault's own scripts' calling conventions get the same answers", async () => {
    const env = shellEnv(artifact);
    // contrib bash: the words 1..COMP_CWORD, quoted (an empty current word is sent as "").
    // contrib zsh: words[2,CURRENT] unquoted, so an empty current word is dropped.
    // contrib fish: `commandline -opc` without the program: never the word being completed.
    const bash = async (line: string) => {
      const script = `read -ra w <<< ${shQuote(line)}; [[ ${shQuote(line)} == *" " ]] && w+=(""); aws-vault --completion-bash "\${w[@]:1}"`;
      return lines((await execFileP("bash", ["--norc", "-c", script], { env })).stdout);
    };
    const zsh = async (line: string) => {
      const script = `words=(\${(z)${shQuote(line)}}); [[ ${shQuote(line)} == *" " ]] && words+=(""); aws-vault --completion-bash \${(@)words[2,-1]}`;
      return lines((await execFileP("zsh", ["-f", "-c", script], { env })).stdout);
    };
    const fish = async (line: string) => {
      const script = `set -l w (string split -n ' ' -- ${shQuote(line)}); if not string match -q '* ' -- ${shQuote(line)}; set -e w[-1]; end; set -e w[1]; aws-vault --completion-bash $w`;
      return lines((await execFileP("fish", ["--no-config", "-c", script], { env })).stdout);
    };
    const profiles = ["default", "prod", "prod-admin", "dev"];
    for (const shell of [bash, zsh, fish]) {
      expect(await shell("aws-vault exec ")).toEqual(profiles);
      expect(await shell("aws-vault --backend ")).toContain("file");
      expect(await shell("aws-vault ")).toEqual(expect.arrayContaining(["exec", "export", "login"]));
    }
    // The word being typed narrows the profiles for the bash and zsh forms; fish filters by itself.
    expect(await bash("aws-vault exec pr")).toEqual(["prod", "prod-admin"]);
    expect(await zsh("aws-vault exec pr")).toEqual(["prod", "prod-admin"]);
    expect(await fish("aws-vault exec pr")).toEqual(profiles);
  });
});
