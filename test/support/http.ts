// One HTTP request to a loopback server, collecting status, body and headers (server tests).
import http from "node:http";

export interface HttpReply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function httpRequest(
  port: number,
  path: string,
  opts: { headers?: Record<string, string>; method?: string; agent?: http.Agent | false } = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: opts.headers ?? {}, agent: opts.agent ?? false },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    r.on("error", reject);
    r.end();
  });
}
