import type { Command } from "commander"; import type { CliContext } from "./context.ts"; export function registerImport(_p: Command, _c: CliContext): void {}
