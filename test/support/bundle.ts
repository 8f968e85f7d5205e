// Node 20 cannot run .ts files: tests that need our code in a separate process bundle it first.
import { build } from "esbuild";

export async function bundleForNode(entry: string, outfile: string): Promise<string> {
  await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "node", outfile, logLevel: "silent" });
  return outfile;
}
