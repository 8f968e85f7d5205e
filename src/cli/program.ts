// The command table, in aws-vault's help order.
import { Command, Option } from "commander";
import type { CliContext } from "./context.ts";
import { registerAdd } from "./add.ts";
import { registerAgentCommands } from "./agent.ts";
import { registerAudit } from "./audit.ts";
import { registerDoctor } from "./doctor.ts";
import { registerImport } from "./import.ts";
import { registerClear } from "./clear.ts";
import { registerCompletion } from "./completion-command.ts";
import { registerExec } from "./exec.ts";
import { registerExport } from "./export.ts";
import { registerList } from "./list.ts";
import { registerLogin } from "./login.ts";
import { registerMigrateBackend } from "./migrate-backend.ts";
import { registerProxy } from "./proxy.ts";
import { registerRemove } from "./remove.ts";
import { registerRotate } from "./rotate.ts";
import { registerSignin } from "./signin.ts";
import { registerSso } from "./sso.ts";
import { registerVersion } from "./version-command.ts";

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("aws-vault")
    .description("A vault for securely storing and accessing AWS credentials in development environments.")
    .option("--debug", "Show debugging output")
    .addOption(
      new Option(
        "--backend <backend>",
        `Secret backend to use [${ctx.availableBackends().join(" ")}] (env: AWS_VAULT_BACKEND)`,
      ),
    )
    .addOption(new Option("--prompt <prompt>", "Prompt driver to use (env: AWS_VAULT_PROMPT)"))
    .addOption(new Option("--keychain <name>", "Name of macOS keychain to use, if it doesn't exist it will be created (env: AWS_VAULT_KEYCHAIN_NAME)"))
    .addOption(new Option("--secret-service-collection <name>", "Name of secret-service collection to use (env: AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME)"))
    .addOption(new Option("--pass-dir <dir>", "Pass password store directory (env: AWS_VAULT_PASS_PASSWORD_STORE_DIR)"))
    .addOption(new Option("--pass-cmd <cmd>", "Name of the pass executable (env: AWS_VAULT_PASS_CMD)"))
    .addOption(new Option("--pass-prefix <prefix>", "Prefix to prepend to the item path stored in pass (env: AWS_VAULT_PASS_PREFIX)"))
    .addOption(new Option("--file-dir <dir>", "Directory for the \"file\" password store (env: AWS_VAULT_FILE_DIR)"))
    .addOption(new Option("--no-agent", "Do not use the file keyring's agent (env: AWS_VAULT_AGENT=off)"))
    .option("--version", "Show application version.")
    .showHelpAfterError(false)
    .exitOverride()
    // Global flags are resolved (and validated) before any command runs, so their errors carry no command name.
    .hook("preAction", (_program, action) => void ctx.session(action))
    .configureOutput({
      writeOut: (s) => ctx.rt.stdout.write(s),
      writeErr: (s) => ctx.rt.stderr.write(s),
      outputError: () => undefined,
    });
  // aws-vault's help order, then the commands it does not have.
  registerAdd(program, ctx);
  registerRemove(program, ctx);
  registerList(program, ctx);
  registerRotate(program, ctx);
  registerExec(program, ctx);
  registerExport(program, ctx);
  registerClear(program, ctx);
  registerLogin(program, ctx);
  registerProxy(program, ctx);
  registerMigrateBackend(program, ctx);
  registerSso(program, ctx);
  // Credential hygiene (issue 12).
  registerImport(program, ctx);
  registerDoctor(program, ctx);
  registerAudit(program, ctx);
  registerSignin(program, ctx);
  registerCompletion(program, ctx);
  registerVersion(program, ctx);
  registerAgentCommands(program, ctx);
  return program;
}
