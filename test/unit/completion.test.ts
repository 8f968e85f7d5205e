// kingpin's completion rules over our commander program (the shells themselves: test/e2e/completion.test.ts).
import { Option } from "commander";
import { describe, expect, it } from "vitest";
import { completionCandidates, type HintSources } from "../../src/cli/completion.ts";
import { createContext } from "../../src/cli/context.ts";
import { withHint } from "../../src/cli/hints.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

const sources: HintSources = {
  profiles: () => ["default", "prod", "prod-admin", "dev"],
  backends: () => ["secret-service", "pass", "file"],
  prompts: () => ["terminal", "ykman"],
};

function complete(line: string): string[] {
  const words = line.split(" ");
  return completionCandidates(buildProgram(createContext(fakeRuntime())), words, sources);
}

describe("--completion-bash candidates", () => {
  it("commands at the top, matched by the shell (kingpin lists them all)", () => {
    const top = complete("");
    expect(top).toEqual(expect.arrayContaining(["add", "exec", "export", "list", "login", "help", "completion", "version"]));
    expect(top).not.toContain("proxy"); // hidden
    expect(complete("ex")).toEqual(top);
  });

  it("profile names for a profile argument, by prefix once typed", () => {
    expect(complete("exec ")).toEqual(["default", "prod", "prod-admin", "dev"]);
    expect(complete("exec pr")).toEqual(["prod", "prod-admin"]);
    expect(complete("login ")).toContain("dev");
    expect(complete("exec --no-session ")).toEqual(["default", "prod", "prod-admin", "dev"]);
    expect(complete("exec -d 1h ")).toEqual(["default", "prod", "prod-admin", "dev"]);
    // A complete profile name is taken as given: the wrapped command is not ours to complete.
    expect(complete("exec prod ")).toEqual([]);
  });

  it("flag names: the command's, then the global ones", () => {
    const flags = complete("exec --");
    expect(flags).toEqual(expect.arrayContaining(["--duration", "--no-session", "--ec2-server", "--backend", "--debug", "--help"]));
    expect(flags).not.toContain("--format");
    expect(complete("--")).toEqual(expect.arrayContaining(["--backend", "--debug", "--version", "--help"]));
    expect(complete("--")).not.toContain("--duration");
  });

  it("flag values: backends, prompt drivers, export formats", () => {
    expect(complete("--backend ")).toEqual(["secret-service", "pass", "file"]);
    expect(complete("--backend fi")).toEqual(["secret-service", "pass", "file"]);
    expect(complete("exec --prompt ")).toEqual(["terminal", "ykman"]);
    expect(complete("export --format ")).toEqual(["env", "export-env", "json", "ini"]);
    expect(complete("migrate-backend --from ")).toEqual(["secret-service", "pass", "file"]);
    // A value given in full: back to commands.
    expect(complete("--backend file ")).toContain("exec");
    // A flag without values counts as complete.
    expect(complete("--debug ")).toContain("exec");
  });

  it("after -- nothing: the shell completes the wrapped command", () => {
    expect(complete("exec prod -- --")).toEqual([]);
  });

  it("help and completion take command and shell names", () => {
    expect(complete("help ")).toEqual(expect.arrayContaining(["exec", "export"]));
    expect(complete("completion ")).toEqual(["bash", "zsh", "fish"]);
  });

  it("picks up commands, flags and hints added later, with no change to the completion", () => {
    const program = buildProgram(createContext(fakeRuntime()));
    program
      .command("thaw")
      .argument("<profile>")
      .addOption(withHint(new Option("--mode <mode>"), ["fast", "slow"]))
      .option("--from <backend>");
    program.command("portal").command("sync").option("--start-url <url>").option("--backend-hint <backend>");
    const c = (line: string) => completionCandidates(program, line.split(" "), sources);
    expect(c("portal ")).toContain("sync");
    expect(c("portal sync --")).toEqual(expect.arrayContaining(["--start-url", "--backend-hint", "--debug"]));
    expect(c("portal sync --backend-hint ")).toEqual(["secret-service", "pass", "file"]);
    // The real `sso populate` (issue 14) is picked up the same way.
    expect(c("sso ")).toContain("populate");
    expect(c("sso populate --")).toEqual(expect.arrayContaining(["--sso-session", "--prefix", "--dry-run", "--use-device-code"]));
    expect(c("th")).toContain("thaw");
    expect(c("thaw ")).toEqual(["default", "prod", "prod-admin", "dev"]);
    expect(c("thaw --mode ")).toEqual(["fast", "slow"]);
    expect(c("thaw --from ")).toEqual(["secret-service", "pass", "file"]);
  });
});
