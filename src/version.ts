import pkg from "../package.json" with { type: "json" };

export const VERSION = `v${pkg.version}`;

/** The aws-vault release whose commands, flags, formats and keyring layouts this one follows. */
export const COMPATIBLE_AWS_VAULT = "v7.2.0";
