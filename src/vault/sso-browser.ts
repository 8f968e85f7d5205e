// Opens the SSO verification page with the command util/browser.ts picks ($BROWSER, a `:`-separated
// list with `%s` for the URL, else xdg-open / open / rundll32): the first one found on PATH. Unlike
// login's opener, this one is not waited for (the device flow polls meanwhile) and the opener's
// output is captured, so a chatty browser never mixes into `export`'s stdout. A failure is only
// logged: the URL has been printed already. No shell is involved.
import type { Runtime } from "../runtime/runtime.ts";
import { type BrowserCommand, browserCommands } from "../util/browser.ts";
import { definedEnv } from "../util/env.ts";

export type { BrowserCommand };

/** The command that would open `url`, or undefined when none is available. */
export function browserCommand(rt: Runtime, url: string): BrowserCommand | undefined {
  return browserCommands(url, rt.env, rt.platform).find((c) => rt.platform === "win32" || rt.spawn.which(c.cmd) !== undefined);
}

/** Starts the browser on `url`; never throws. */
export function openBrowser(rt: Runtime, url: string): void {
  const command = browserCommand(rt, url);
  if (!command) {
    rt.log.debug("could not open a browser: set BROWSER, or open the printed link yourself");
    return;
  }
  const env = definedEnv(rt.env);
  let started: Promise<{ code: number | null; signal: string | null }>;
  try {
    started = rt.spawn.output(command.cmd, command.args, { env, stdio: "pipe-out" });
  } catch (e) {
    rt.log.debug(`could not open a browser with ${command.cmd}: ${(e as Error).message}`);
    return;
  }
  started.then(
    (r) => {
      if (r.code !== 0) rt.log.debug(`the browser command ${command.cmd} exited with ${r.signal ? `signal ${r.signal}` : `status ${r.code}`}`);
    },
    (e: unknown) => rt.log.debug(`could not open a browser with ${command.cmd}: ${(e as Error).message}`),
  );
}
