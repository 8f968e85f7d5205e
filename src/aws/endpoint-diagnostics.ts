// Names the endpoint in SDK failures. Every adapter adds this middleware to its client: on any
// failure below it (the HTTP transport or the response parser) the error gets the request URL as
// `$endpoint`, so aws/errors.ts can say which URL could not be reached or answered nonsense.
//
// Bun's node:net reports every failed connect as ECONNREFUSED (ENETUNREACH, EHOSTUNREACH and
// EADDRNOTAVAIL included); its fetch reports the real errno. Under Bun a refused connect is probed
// once more with fetch, and the real errno is kept as `$errno`, so both artifacts say the same.
// Imports no SDK, so each adapter chunk stays independent.
import { isBun } from "../runtime/builtins.ts";

export interface EndpointFailure {
  $endpoint?: string;
  $errno?: string;
}

interface RequestLike {
  protocol?: string;
  hostname?: string;
  port?: number;
  path?: string;
}

interface MiddlewareStackLike {
  // The SDK's own types are stricter; the shape below is what it calls.
  add(middleware: never, options: { step: "deserialize"; name: string; priority: "high" }): void;
}

const PROBE_TIMEOUT_MS = 2000;

export function requestUrl(r: RequestLike): string {
  const host = r.hostname?.includes(":") && !r.hostname.startsWith("[") ? `[${r.hostname}]` : r.hostname;
  return `${r.protocol ?? "https:"}//${host}${r.port ? `:${r.port}` : ""}${r.path ?? "/"}`;
}

/** Under Bun, the errno fetch reports for the same URL (see above); undefined when it connects or agrees. */
async function probeErrno(url: string): Promise<string | undefined> {
  try {
    await fetch(url, { method: "HEAD", redirect: "manual", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return undefined;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" && /^E[A-Z_]+$/.test(code) && code !== "ECONNREFUSED" ? code : undefined;
  }
}

interface ResultLike {
  response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

/** An answer no AWS API gives (an HTML page parsed "successfully" into an empty result). */
export class NonAwsResponseError extends Error {
  readonly $metadata: { httpStatusCode?: number };
  constructor(readonly $endpoint: string, status: number | undefined) {
    super(`${$endpoint} answered HTTP ${status} with a web page`);
    this.name = "NonAwsResponseError";
    this.$metadata = { httpStatusCode: status };
  }
}

export function addEndpointDiagnostics(stack: MiddlewareStackLike): void {
  const middleware =
    (next: (args: { request?: RequestLike }) => Promise<ResultLike>) =>
    async (args: { request?: RequestLike }): Promise<ResultLike> => {
      let result: ResultLike;
      try {
        result = await next(args);
      } catch (e) {
        if (e !== null && typeof e === "object" && args.request?.hostname) {
          const failure = e as EndpointFailure & { code?: unknown };
          const url = requestUrl(args.request);
          try {
            Object.defineProperty(failure, "$endpoint", { value: url, enumerable: false, configurable: true });
            if (isBun() && failure.code === "ECONNREFUSED") {
              const errno = await probeErrno(url);
              if (errno) Object.defineProperty(failure, "$errno", { value: errno, enumerable: false, configurable: true });
            }
          } catch {
            // a frozen error: report it as it is
          }
        }
        throw e;
      }
      const type = result.response?.headers?.["content-type"] ?? "";
      if (/^text\/html\b/i.test(type) && args.request?.hostname) {
        throw new NonAwsResponseError(requestUrl(args.request), result.response?.statusCode);
      }
      return result;
    };
  stack.add(middleware as never, { step: "deserialize", name: "awsVaultEndpointDiagnostics", priority: "high" });
}
