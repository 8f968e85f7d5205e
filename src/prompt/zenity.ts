// The `zenity` driver: a GTK entry dialog.
import type { Runtime } from "../runtime/runtime.ts";
import type { Secret } from "../util/secret.ts";
import { exitOneIsCancel, program, runPromptProgram } from "./run.ts";

export function zenityArgs(message: string): string[] {
  return ["--entry", "--title", "aws-vault", "--text", message];
}

export function zenityPrompt(rt: Runtime, message: string): Promise<Secret> {
  return runPromptProgram(rt, { name: "zenity", run: program("zenity", zenityArgs(message)), cancelled: exitOneIsCancel });
}
