// --help: every command has its environment variables and examples (cli/docs.ts), and no empty defaults.
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { createContext } from "../../src/cli/context.ts";
import { decorateHelp } from "../../src/cli/help.ts";
import { manPage } from "../../src/cli/man.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { fakeRuntime } from "../support/fake-runtime.ts";

function program(): { program: Command } {
  const rt = fakeRuntime();
  const p = buildProgram(createContext(rt));
  decorateHelp(p);
  return { program: p };
}

function helpOf(cmd: Command): string {
  let text = "";
  cmd.configureOutput({ writeOut: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

describe("help", () => {
  it("every command (hidden ones too) shows examples; the ones with settings list their environment variables", () => {
    const { program: p } = program();
    const root = helpOf(p);
    expect(root).toContain("Environment variables:\n  AWS_VAULT_BACKEND");
    expect(root).toContain("NO_COLOR");
    const walk = (cmd: Command): Command[] => [cmd, ...cmd.commands.flatMap(walk)];
    for (const cmd of walk(p).slice(1)) {
      const text = helpOf(cmd);
      // A new command adds its entry to cli/docs.ts.
      expect(text, cmd.name()).toMatch(/\nExamples:\n  .*aws-vault /);
      expect(text, cmd.name()).not.toMatch(/\(default: (true|false|\[\])\)/);
    }
    for (const name of ["add", "remove", "list", "rotate", "exec", "export", "clear", "login", "migrate-backend"]) {
      expect(helpOf(p.commands.find((c) => c.name() === name)!), name).toContain("\nEnvironment variables:\n");
    }
    // The agent commands are steered by the socket variable; every file-backend command by the agent mode.
    const agent = p.commands.find((c) => c.name() === "agent")!;
    for (const cmd of [p.commands.find((c) => c.name() === "lock")!, agent, ...agent.commands]) {
      expect(helpOf(cmd), cmd.name()).toMatch(/\nEnvironment variables:\n(.*\n)*  AWS_VAULT_AGENT_SOCK\s/);
    }
    expect(root).toMatch(/\n  AWS_VAULT_AGENT\s/);
    expect(root).toMatch(/\n  AWS_VAULT_FILE_PASSPHRASE_CMD\s/);
    const exec = helpOf(p.commands.find((c) => c.name() === "exec")!);
    expect(exec).toMatch(/AWS_MIN_TTL +how long a cached session/);
    expect(exec).toContain("aws-vault exec jonsmith -- aws s3 ls");
  });

  it("keeps defaults that say something", () => {
    const { program: p } = program();
    expect(helpOf(p.commands.find((c) => c.name() === "export")!)).toContain('(default: "env")');
  });

  it("the man page covers every visible command and flag, escaped for roff", () => {
    const { program: p } = program();
    const man = manPage(p);
    expect(man).toMatch(/^\.TH AWS\\-VAULT 1 "" "aws\\-vault v\d+\.\d+\.\d+" "User Commands"\n/);
    for (const cmd of p.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden)) {
      expect(man).toContain(`.SS "${cmd.name().replace(/-/g, "\\-")}`);
      for (const o of cmd.options) if (!o.hidden && o.long) expect(man, o.long).toContain(`\\fB${o.long.replace(/-/g, "\\-")}\\fR`);
    }
    expect(man).not.toMatch(/^[.'](?!TH|SH|SS|TP|PP)/m);
  });
});
