// vitest globalSetup: every temporary folder of a test run lives under one run folder, removed at the end.
// Tests make their folders with mkdtemp(os.tmpdir()), and many of them (sandboxes, keyrings, daemons' homes)
// have no teardown of their own; without this, every run left thousands of folders in /tmp.
// The folder is 0711 like the part of /tmp that matters: other uids (the tests that drop to nobody) can
// traverse it but not list or write it; each test's own folder is 0700 as mkdtemp makes it.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const parent = tmpdir();
  const root = mkdtempSync(join(parent, "awsv-run-"));
  chmodSync(root, 0o711);
  process.env.TMPDIR = root; // inherited by the test workers and everything they start
  return () => {
    process.env.TMPDIR = parent;
    if (process.env.AWS_VAULT_KEEP_TEST_TMP) process.stderr.write(`test temp folders kept in ${root}\n`);
    else rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
}
