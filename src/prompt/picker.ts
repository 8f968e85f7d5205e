// The profile picker (exec/export/login without a profile, on a terminal): a searchable list, typed
// to filter, arrows to move, Enter to choose, Ctrl-C to cancel. @inquirer/search draws it; this
// module gives it the terminal the way every other prompt here gets it: through rt.openTty(), reading
// one chunk at a time and never after the answer, so the next prompt or the child's stdin gets every
// key typed later (a tty stream would keep reading in the background). Loaded only when needed.
import { Readable, Writable } from "node:stream";
import { CancelledError, UserError } from "../errors.ts";
import type { Runtime, Tty } from "../runtime/runtime.ts";
import { colorEnabled } from "../util/color.ts";

/** SGR sequences (colours, bold): dropped when colour is off; cursor movements are kept. */
const SGR = /\u001b\[[0-9;]*m/g;

/** Filters by case-insensitive substring; the typed term's earliest match first, then name order. */
export function filterProfiles(profiles: readonly string[], term: string | undefined): string[] {
  const t = (term ?? "").toLowerCase();
  if (!t) return [...profiles];
  return profiles
    .map((p) => ({ p, at: p.toLowerCase().indexOf(t) }))
    .filter((x) => x.at !== -1)
    .sort((a, b) => a.at - b.at)
    .map((x) => x.p);
}

export async function pickProfile(rt: Runtime, profiles: readonly string[], message: string): Promise<string> {
  const tty = rt.openTty();
  try {
    if (!tty.readKeys) throw new UserError("this terminal cannot show the profile picker");
    return await runPicker(rt, tty, profiles, message);
  } finally {
    tty.close();
  }
}

async function runPicker(rt: Runtime, tty: Tty, profiles: readonly string[], message: string): Promise<string> {
  const { default: search } = await import("@inquirer/search");
  const color = colorEnabled(rt.env, true);
  const input = new Readable({ read: () => undefined });
  const output = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const text = chunk.toString();
      tty.write(color ? text : text.replace(SGR, ""));
      done();
    },
  });
  let settled = false;
  const prompt = search<string>(
    {
      message,
      source: (term) => filterProfiles(profiles, term).map((p) => ({ value: p, name: p })),
      pageSize: 12,
    },
    { input, output, clearPromptOnDone: true },
  );
  const answer = prompt.finally(() => {
    settled = true;
  });
  answer.catch(() => undefined);
  const pump = async () => {
    const readKeys = tty.readKeys?.bind(tty);
    if (!readKeys) return;
    while (!settled) {
      let keys: string;
      try {
        keys = await readKeys();
      } catch (e) {
        prompt.cancel();
        throw e;
      }
      input.push(keys);
      // Enter or Ctrl-C may end the prompt: let it settle before reading again, so no read is
      // left waiting on the terminal once it has.
      if (/[\r\n\u0003\u0004]/.test(keys)) for (let i = 0; i < 20 && !settled; i++) await new Promise((r) => setImmediate(r));
    }
  };
  const pumping = pump();
  try {
    return await answer;
  } catch (e) {
    // Inquirer's errors, by the names it gives them (set explicitly, so they survive minification).
    const name = (e as { name?: string }).name;
    if (name === "ExitPromptError" || name === "CancelPromptError" || e instanceof CancelledError) throw new CancelledError();
    throw e;
  } finally {
    await pumping.catch(() => undefined);
    input.destroy();
  }
}
