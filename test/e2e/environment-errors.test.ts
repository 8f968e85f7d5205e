// Issue 9 item 10: failures of the machine (HOME that is a file or not writable, a read-only or full disk) are user
// errors naming the path and the fix, exit 1, never "this is a bug" (exit 70).
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, run, sandbox } from "../support/cli.ts";

const KEYS = { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

/** A private mount namespace can bind ~/.aws read-only (needs root, as on the CI image). */
function canMountReadOnly(): boolean {
  try {
    execFileSync("unshare", ["-m", "sh", "-c", "mount --bind -o ro /tmp /tmp"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** As root, run as nobody so that a folder's permissions apply (root ignores them); needs util-linux setpriv. */
function canDropToNobody(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe.each(ARTIFACTS)("environment errors ($name)", (artifact) => {
  it("HOME that is a file (ENOTDIR)", async () => {
    const sb = sandbox();
    const home = join(sb.home, "home-file");
    writeFileSync(home, "");
    const env = { ...sb.env, HOME: home, AWS_CONFIG_FILE: undefined };
    const list = await run(artifact, ["list"], { env });
    expect(list.code).toBe(1);
    const escaped = home.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(list.stderr).toMatch(
      new RegExp(
        `^aws-vault: error: list: .*${escaped}/\\.aws\\S*: .*(ENOTDIR|not a directory).*\\n` +
          "aws-vault: hint: check HOME, AWS_VAULT_FILE_DIR and AWS_CONFIG_FILE: a file stands where a folder is expected\\n$",
      ),
    );
    const config = await run(artifact, ["export", "p"], { env: { ...env, AWS_VAULT_BACKEND: "file" } });
    expect(config.code).toBe(1);
    expect(config.stderr).toContain(`Error reading config file ${home}/.aws/config: a part of the path is not a folder (ENOTDIR)\n`);
    const keys = await run(artifact, ["list", "--credentials"], { env: { ...env, AWS_CONFIG_FILE: sb.configPath } });
    expect(keys.code).toBe(1);
    expect(keys.stderr).toMatch(new RegExp(`^aws-vault: error: list: .*${escaped}/\\.awsvault\\S*: .*ENOTDIR.*\\n`));
    expect(keys.stderr).toContain("aws-vault: hint: check HOME, AWS_VAULT_FILE_DIR and AWS_CONFIG_FILE: a file stands where a folder is expected\n");
    expect(keys.stderr).not.toContain("bug");
  });

  it.skipIf(!canMountReadOnly())("add with a read-only ~/.aws stores the key and says the config was not written", async () => {
    const sb = sandbox();
    const aws = join(sb.home, ".aws");
    mkdirSync(aws, { recursive: true });
    const script = `mount --bind -o ro '${aws}' '${aws}' && exec "$@"`;
    const r = await run({ ...artifact, argv: ["unshare", "-m", "sh", "-c", script, "sh", ...artifact.argv] }, ["add", "--env", "work"], {
      env: { ...sb.env, ...KEYS },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('Added credentials to profile "work" in vault\n');
    expect(r.stderr).toBe(
      `aws-vault: error: add: the credentials were stored, but [profile work] could not be added to ${sb.configPath}: open ${sb.configPath}.lock: read-only file system (EROFS)\n` +
        "aws-vault: hint: make that file system writable, or point HOME, AWS_VAULT_FILE_DIR or AWS_CONFIG_FILE at a writable place\n" +
        "aws-vault: hint: add the section yourself, or use --no-add-config\n",
    );
    const listed = await run(artifact, ["list", "--credentials"], { env: sb.env });
    expect(listed.stdout).toBe("work\n");
  });

  it.skipIf(!canMountReadOnly())("a full disk under the keys folder (ENOSPC) names the fix", async () => {
    const sb = sandbox();
    mkdirSync(sb.keysDir, { recursive: true });
    // A tiny tmpfs over the keys folder, filled up: creating a file still works, writing to it does not.
    const script = `mount -t tmpfs -o size=64k tmpfs '${sb.keysDir}' && (dd if=/dev/zero of='${sb.keysDir}/fill' bs=4k count=64 2>/dev/null; true) && exec "$@"`;
    const r = await run({ ...artifact, argv: ["unshare", "-m", "sh", "-c", script, "sh", ...artifact.argv] }, ["add", "--env", "--no-add-config", "work"], {
      env: { ...sb.env, ...KEYS },
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^aws-vault: error: add: .*${sb.keysDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*\n`));
    expect(r.stderr).toContain("aws-vault: hint: free some space on that disk\n");
    expect(r.stderr).not.toContain("bug");
  });

  it.skipIf(!canDropToNobody())("a HOME the user cannot write (EACCES) names the folder and the fix", async () => {
    const sb = sandbox();
    const home = join(sb.home, "locked-home");
    mkdirSync(home);
    writeFileSync(sb.configPath, "");
    for (const [p, mode] of [[sb.home, 0o755], [join(sb.home, ".aws"), 0o755], [sb.configPath, 0o644], [home, 0o555]] as const) chmodSync(p, mode);
    const nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    const r = await run({ ...artifact, argv: [...nobody, ...artifact.argv] }, ["add", "--env", "--no-add-config", "work"], {
      env: { ...sb.env, ...KEYS, HOME: home },
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(
      `aws-vault: error: add: mkdir ${home}/.awsvault: permission denied (EACCES)\n` +
        `aws-vault: hint: check the owner and permissions of ${home}/.awsvault and its parent folders\n`,
    );
  });

  it.skipIf(!canMountReadOnly())("a disk that fills up while the item is written (ENOSPC) names the item's file and the fix", async () => {
    const sb = sandbox();
    mkdirSync(sb.keysDir, { recursive: true });
    // Sixteen pages of tmpfs, fifteen filled: the lock file takes the last one, the item finds none.
    const script =
      `ps=$(getconf PAGESIZE) && mount -t tmpfs -o size=$((16 * ps)) tmpfs '${sb.keysDir}' && ` +
      `dd if=/dev/zero of='${sb.keysDir}/fill' bs=$ps count=15 2>/dev/null && exec "$@"`;
    const r = await run({ ...artifact, argv: ["unshare", "-m", "sh", "-c", script, "sh", ...artifact.argv] }, ["add", "--env", "--no-add-config", "work"], {
      env: { ...sb.env, ...KEYS },
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(
      `aws-vault: error: add: write ${sb.keysDir}/work: no space left on device (ENOSPC)\n` + "aws-vault: hint: free some space on that disk\n",
    );
  });
});
