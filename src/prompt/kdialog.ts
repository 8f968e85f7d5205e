// The `kdialog` driver: a KDE input box.
import type { Runtime } from "../runtime/runtime.ts";
import type { Secret } from "../util/secret.ts";
import { exitOneIsCancel, program, runPromptProgram } from "./run.ts";

export function kdialogArgs(message: string): string[] {
  return ["--inputbox", message, "--title", "aws-vault"];
}

export function kdialogPrompt(rt: Runtime, message: string): Promise<Secret> {
  return runPromptProgram(rt, { name: "kdialog", run: program("kdialog", kdialogArgs(message)), cancelled: exitOneIsCancel });
}
