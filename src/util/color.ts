// Colour only on a terminal, and never when NO_COLOR is set to anything non-empty (no-color.org).
export function colorEnabled(env: Readonly<Record<string, string | undefined>>, isTTY: boolean): boolean {
  return isTTY && !env.NO_COLOR && env.TERM !== "dumb";
}

/** SGR wrappers that are the identity when colour is off. */
export function palette(enabled: boolean): { cyan(s: string): string; bold(s: string): string; dim(s: string): string } {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { cyan: wrap(36, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
}
