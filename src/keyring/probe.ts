// Cheap checks that decide which backends are offered; no backend code is loaded for them.
import { existsSync } from "node:fs";
import { join } from "node:path";

export const KWALLET_SERVICE = "org.kde.kwalletd5";

/**
 * The session bus address: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus when that socket
 * exists (the systemd user bus). Undefined when there is no session bus to talk to.
 */
export function sessionBusAddress(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const fromEnv = env.DBUS_SESSION_BUS_ADDRESS;
  if (fromEnv) return fromEnv;
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && existsSync(join(runtime, "bus"))) return `unix:path=${join(runtime, "bus")}`;
  return undefined;
}

/** True when kwalletd5 is installed as a session D-Bus service (so the bus can start it). */
export function kwalletInstalled(env: Readonly<Record<string, string | undefined>>): boolean {
  const dirs = [env.XDG_DATA_HOME ?? (env.HOME ? join(env.HOME, ".local/share") : undefined)]
    .concat((env.XDG_DATA_DIRS || "/usr/local/share:/usr/share").split(":"))
    .filter((d): d is string => Boolean(d));
  return dirs.some((d) => existsSync(join(d, "dbus-1", "services", `${KWALLET_SERVICE}.service`)));
}
