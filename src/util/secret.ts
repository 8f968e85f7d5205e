
const REDACTED = "[redacted]";

/**
 * A secret value (secret access key, session token, MFA code, passphrase, token). It prints as
 * `[redacted]` everywhere; `reveal()` is called only where the value must leave the process: the
 * keyring `set`, the AWS adapters, a child's environment, or a server response.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  get length(): number {
    return this.#value.length;
  }
  isEmpty(): boolean {
    return this.#value.length === 0;
  }
  equals(other: Secret): boolean {
    return this.#value === other.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

export function secret(value: string): Secret {
  return new Secret(value);
}
