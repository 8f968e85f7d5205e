// What a long wait shows on stderr (never stdout): on a terminal a spinner redrawn in place, else
// one plain line. And the way out of it: Ctrl-C (SIGINT) rejects with CancelledError, so the caller's
// finally blocks run (locks are released) and the command exits 130 with "cancelled".
import { CancelledError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { colorEnabled, palette } from "../util/color.ts";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_MS = 100;

export interface Wait {
  /** Rejects with CancelledError on Ctrl-C; never resolves. */
  readonly cancelled: Promise<never>;
  /** Races `p` against Ctrl-C. */
  race<T>(p: Promise<T>): Promise<T>;
  /** Clears the spinner and stops listening for Ctrl-C. */
  stop(): void;
}

export function startWait(rt: Runtime, text: () => string): Wait {
  let reject: (e: Error) => void = () => undefined;
  const cancelled = new Promise<never>((_, r) => (reject = r));
  // Nobody may be racing at the moment Ctrl-C arrives: keep that from being an unhandled rejection.
  cancelled.catch(() => undefined);
  const stopSignal = rt.onSignal("SIGINT", () => reject(new CancelledError()));
  const tty = rt.stderr.isTTY;
  const c = palette(colorEnabled(rt.env, tty));
  let timer: ReturnType<typeof setInterval> | undefined;
  if (tty) {
    let frame = 0;
    const draw = () => rt.stderr.write(`\r\u001b[K${c.cyan(FRAMES[frame++ % FRAMES.length] as string)} ${text()}`);
    draw();
    timer = setInterval(draw, FRAME_MS);
  } else {
    rt.stderr.write(`${text()}\n`);
  }
  let stopped = false;
  return {
    cancelled,
    race: (p) => Promise.race([p, cancelled]),
    stop() {
      if (stopped) return;
      stopped = true;
      stopSignal();
      if (timer !== undefined) {
        clearInterval(timer);
        rt.stderr.write("\r\u001b[K");
      }
    },
  };
}
