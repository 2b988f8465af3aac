/**
 * Parsers for environment values. A problem is phrased to follow the variable's name
 * ("PORT must be an integer ..."), and a secret's value never appears in it.
 */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface Parser<T> {
  parse(raw: string | undefined): ParseResult<T>;
  /** How the value shows in the effective config of /health/extended. */
  display(value: T): string | number | boolean | null;
}

export type Parsed<P> = P extends Parser<infer T> ? T : never;

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = <T>(problem: string): ParseResult<T> => ({ ok: false, problem });
const isUnset = (raw: string | undefined): raw is undefined => raw === undefined || raw.trim() === '';

export function integer(options: { min: number; max: number; fallback: number }): Parser<number> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok(options.fallback);
      const text = raw.trim();
      if (!/^-?\d+$/.test(text)) return fail(`must be an integer between ${options.min} and ${options.max}, got ${JSON.stringify(raw)}`);
      const value = Number(text);
      if (value < options.min || value > options.max) {
        return fail(`must be between ${options.min} and ${options.max}, got ${value}`);
      }
      return ok(value);
    },
    display: (value) => value,
  };
}

export function ratio(options: { fallback: number }): Parser<number> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok(options.fallback);
      const value = Number(raw.trim());
      if (!Number.isFinite(value) || value <= 0 || value > 1) return fail(`must be a number in (0, 1], got ${JSON.stringify(raw)}`);
      return ok(value);
    },
    display: (value) => value,
  };
}

export function string(options: { fallback: string }): Parser<string> {
  return {
    parse: (raw) => ok(isUnset(raw) ? options.fallback : raw.trim()),
    display: (value) => value,
  };
}

export function optionalString(): Parser<string | undefined> {
  return {
    parse: (raw) => ok(isUnset(raw) ? undefined : raw.trim()),
    display: (value) => value ?? null,
  };
}

export function oneOf<T extends string>(allowed: readonly T[], options: { fallback: T }): Parser<T> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok(options.fallback);
      const value = raw.trim().toLowerCase();
      if (!(allowed as readonly string[]).includes(value)) {
        return fail(`must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return ok(value as T);
    },
    display: (value) => value,
  };
}

export function logLevel(options: { fallback: string }): Parser<string> {
  return oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], options);
}

export function booleanFlag(options: { fallback: boolean }): Parser<boolean> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok(options.fallback);
      const value = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(value)) return ok(true);
      if (['0', 'false', 'no', 'off'].includes(value)) return ok(false);
      return fail(`must be true or false, got ${JSON.stringify(raw)}`);
    },
    display: (value) => value,
  };
}

/** A secret: shown as "[redacted]" when set; a problem never quotes it. */
export function secret(options: { minLength: number }): Parser<string | undefined> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok(undefined);
      const value = raw.trim();
      if (value.length < options.minLength) {
        return fail(`must be at least ${options.minLength} characters long (value not shown)`);
      }
      return ok(value);
    },
    display: (value) => (value === undefined ? null : '[redacted]'),
  };
}

/**
 * A URL with one of `protocols`. Credentials in it (user:password, and for webhooks a
 * query string, which often carries a token) are shown redacted.
 */
export function url(options: { protocols: readonly string[]; redactQuery: boolean }): Parser<string | undefined> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok(undefined);
      let parsed: URL;
      try {
        parsed = new URL(raw.trim());
      } catch {
        return fail(`must be a URL (${options.protocols.map((p) => `${p}//...`).join(' or ')}); the value is not one (not shown: it may hold credentials)`);
      }
      if (!options.protocols.includes(parsed.protocol)) {
        return fail(`must use ${options.protocols.join(' or ')}, got ${parsed.protocol}`);
      }
      return ok(raw.trim());
    },
    display: (value) => (value === undefined ? null : redactUrl(value, options.redactQuery)),
  };
}

export function redactUrl(value: string, redactQuery: boolean): string {
  const parsed = new URL(value);
  if (parsed.username) parsed.username = '[redacted]';
  if (parsed.password) parsed.password = '[redacted]';
  if (redactQuery && parsed.search) parsed.search = '?[redacted]';
  return parsed.toString();
}

export function pattern(options: { regex: RegExp; description: string; fallback: string }): Parser<string> {
  return {
    parse(raw) {
      const value = isUnset(raw) ? options.fallback : raw.trim();
      return options.regex.test(value) ? ok(value) : fail(`must be ${options.description}, got ${JSON.stringify(raw)}`);
    },
    display: (value) => value,
  };
}

/** A comma-separated list of distinct ids, each matching `regex`; unset is the empty list. */
export function idList(options: { regex: RegExp; description: string }): Parser<readonly string[]> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok([]);
      const ids = raw.split(',').map((id) => id.trim());
      const bad = ids.filter((id) => !options.regex.test(id));
      if (bad.length > 0) return fail(`must be a comma-separated list of ids (${options.description}); not one: ${bad.map((id) => JSON.stringify(id)).join(', ')}`);
      const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
      if (repeated.length > 0) return fail(`names ${JSON.stringify(repeated[0])} more than once`);
      return ok(ids);
    },
    display: (value) => value.join(','),
  };
}

/** One service the canary watches: `[name=]url[#json.field=value]` (the fragment is never sent). */
export interface CanaryTarget {
  readonly name: string;
  readonly url: string;
  /** A field of the JSON answer that must have this value (compared as text). */
  readonly expect: { readonly field: string; readonly value: string } | undefined;
}

/** CANARY_URLS: a comma-separated list of `[name=]http(s)://...[#field=value]`; names default to the host and port. */
export function canaryTargets(): Parser<readonly CanaryTarget[]> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok([]);
      const targets: CanaryTarget[] = [];
      for (const entry of raw.split(',').map((part) => part.trim())) {
        const named = /^([A-Za-z0-9_.-]{1,64})=(.*)$/.exec(entry);
        const text = named ? named[2]! : entry;
        let parsed: URL;
        try {
          parsed = new URL(text);
        } catch {
          return fail(`must be a comma-separated list of [name=]http(s)://... URLs; entry ${targets.length + 1} is not a URL (not shown: it may hold credentials)`);
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return fail(`entry ${targets.length + 1} must use http: or https:, got ${parsed.protocol}`);
        let expect: CanaryTarget['expect'];
        if (parsed.hash) {
          const rule = /^#([A-Za-z0-9_.-]+)=(.*)$/.exec(decodeURIComponent(parsed.hash));
          if (!rule) return fail(`entry ${targets.length + 1}: the fragment must be #json.field=value, got ${JSON.stringify(parsed.hash)}`);
          expect = { field: rule[1]!, value: rule[2]! };
          parsed.hash = '';
        }
        const name = named ? named[1]! : parsed.host;
        if (targets.some((target) => target.name === name)) return fail(`names ${JSON.stringify(name)} more than once (give each a name: name=url)`);
        targets.push({ name, url: parsed.toString(), expect });
      }
      return ok(targets);
    },
    display: (value) => value.map((target) => `${target.name}=${redactUrl(target.url, true)}${target.expect ? `#${target.expect.field}=${target.expect.value}` : ''}`).join(','),
  };
}

/** An integer in [min, max], or unset. */
export function optionalInteger(options: { min: number; max: number }): Parser<number | undefined> {
  const inner = integer({ ...options, fallback: options.min });
  return {
    parse: (raw) => (isUnset(raw) ? ok(undefined) : inner.parse(raw)),
    display: (value) => (value === undefined ? null : value),
  };
}

/** One company of COMPANIES: its YClients company id and the WhatsApp sessions that serve it. */
export interface Company {
  readonly id: string;
  readonly sessions: readonly string[];
}

/**
 * COMPANIES: `<id>=<session>[,<session>...]`, companies separated by `;` (or whitespace), for
 * example `962302=salon1,salon1b;962303=salon2`. Unset is none.
 */
export function companies(): Parser<readonly Company[]> {
  return {
    parse(raw) {
      if (isUnset(raw)) return ok([]);
      const list: Company[] = [];
      for (const entry of raw.split(/[;\s]+/).filter(Boolean)) {
        const match = /^([A-Za-z0-9_-]{1,64})=([A-Za-z0-9_,-]+)$/.exec(entry);
        if (!match) return fail(`must be <company id>=<session>[,<session>...] separated by ';', for example 962302=salon1,salon1b; not one: ${JSON.stringify(entry)}`);
        const id = match[1]!;
        const sessions = match[2]!.split(',').filter(Boolean);
        if (sessions.length === 0) return fail(`company ${id} names no session`);
        if (list.some((company) => company.id === id)) return fail(`names company ${JSON.stringify(id)} more than once`);
        const repeated = sessions.find((session, index) => sessions.indexOf(session) !== index);
        if (repeated) return fail(`company ${id} names session ${JSON.stringify(repeated)} twice`);
        list.push({ id, sessions });
      }
      return ok(list);
    },
    display: (value) => value.map((company) => `${company.id}=${company.sessions.join(',')}`).join(';'),
  };
}
