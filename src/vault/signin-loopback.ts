// A one-shot loopback HTTP receiver for the sign-in redirect: listens on 127.0.0.1 on a random
// port, answers GET /oauth/callback once with a "you can close this tab" page, and hands over the
// query. Anything else gets 404. Ctrl-C while waiting rejects with CancelledError and closes it.
// Small on purpose: the shared OAuth loopback module (branch h14, not yet on main) replaces it.
import http from "node:http";
import { CancelledError, UserError } from "../errors.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { AuthCodeReceiver } from "./signin-flow.ts";

const PATH = "/oauth/callback";
/** How long to wait for the browser to come back (the sign-in page's own session lasts about as long). */
const WAIT_MS = 10 * 60 * 1000;

export async function loopbackReceiver(rt: Runtime): Promise<AuthCodeReceiver> {
  let deliver: (q: { code?: string; state?: string; error?: string }) => void = () => undefined;
  let cancel: (e: Error) => void = () => undefined;
  const answered = new Promise<{ code?: string; state?: string; error?: string }>((resolve, reject) => {
    deliver = resolve;
    cancel = reject;
  });
  let done = false;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== PATH || done) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    done = true;
    const q = url.searchParams;
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end("<!doctype html><title>aws-vault</title><p>Signed in. You can close this tab and return to the terminal.</p>\n");
    deliver({
      ...(q.get("code") ? { code: q.get("code") as string } : {}),
      ...(q.get("state") ? { state: q.get("state") as string } : {}),
      ...(q.get("error") ? { error: q.get("error") as string } : {}),
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const offs = (["SIGINT", "SIGTERM"] as const).map((s) => rt.onSignal(s, () => cancel(new CancelledError())));
  const timer = setTimeout(
    () => cancel(new UserError("no answer from the browser within 10 minutes", { hints: ["sign in again; on a machine without a browser use `aws-vault signin --remote`"] })),
    WAIT_MS,
  );
  timer.unref?.();
  return {
    redirectUri: `http://127.0.0.1:${port}${PATH}`,
    wait: () => answered,
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(timer);
        for (const off of offs) off();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
