import { Type, type Static } from 'typebox';
import type { Application } from '../../contract/catalog';
import type { AppParameterValue } from '../../contract/app-parameter-value';

/*
 * How an application runs on a provider that executes jobs for real (the catalog's `run:` block). It is the
 * provider's business, not the wire's: the catalog strips it from the Application it serves.
 *
 * A job's command line is an argv array, never a shell string: each entry is one argument, so no parameter value can
 * become a second command. Entries are templates: `{name}` stands for the value of parameter `name`. An entry that is
 * exactly `{name}` puts the value in an argument of its own, where a leading '-' would make the program read it as an
 * option; the core refuses such values (optionLikeValue). Glued forms such as `--value={value}` cannot be misread.
 */

const Flag = Type.Object({ flag: Type.String({ minLength: 1 }), when: Type.String({ minLength: 1 }) }, { additionalProperties: false });

export const RunDefinition = Type.Object(
  {
    /** A program shipped in server/provider/apps/, run with this server's Node.js. */
    program: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*\\.m?js$' })),
    /** Or an executable on the provider's machine, by absolute path. */
    command: Type.Optional(Type.String({ pattern: '^/' })),
    args: Type.Optional(Type.Array(Type.Union([Type.String(), Flag]))),
    /** The TCP port of the application's web interface, if it has one. */
    webPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  },
  { additionalProperties: false },
);
export type RunDefinition = Static<typeof RunDefinition>;
type Arg = NonNullable<RunDefinition['args']>[number];

const PLACEHOLDER = /\{([A-Za-z0-9_-]+)\}/g;
const STANDALONE = /^\{([A-Za-z0-9_-]+)\}$/;

/** Problems with a run definition against its application, as sentences naming the field; empty when it is sound. */
export function checkRunDefinition(app: Application, run: RunDefinition, at: string): string[] {
  const problems: string[] = [];
  if ((run.program === undefined) === (run.command === undefined)) problems.push(`${at}: give exactly one of 'program' and 'command'`);
  const names = new Set(app.parameters.map((p) => p.name));
  (run.args ?? []).forEach((arg, i) => {
    const refs = typeof arg === 'string' ? [...arg.matchAll(PLACEHOLDER)].map((m) => m[1]!) : [arg.when];
    for (const ref of refs) {
      if (!names.has(ref)) problems.push(`${at}.args[${i}]: '${ref}' is not a parameter of ${app.name}`);
    }
    if (typeof arg !== 'string' && app.parameters.find((p) => p.name === arg.when)?.type !== 'boolean') {
      problems.push(`${at}.args[${i}].when: '${arg.when}' must be a boolean parameter`);
    }
  });
  return problems;
}

/** What a value stands for in an argument; file paths are translated by the provider (its storage area). */
export type ValueText = (name: string, value: AppParameterValue) => string;

function effectiveValues(app: Application, values: Record<string, AppParameterValue | null | undefined>) {
  const out = new Map<string, AppParameterValue>();
  for (const param of app.parameters) {
    const value = values[param.name] ?? param.defaultValue ?? null;
    if (value) out.set(param.name, value);
  }
  return out;
}

export function plainText(_name: string, value: AppParameterValue): string {
  switch (value.type) {
    case 'text':
      return value.value;
    case 'integer':
    case 'floating_point':
      return String(value.value);
    case 'boolean':
      return value.value ? 'true' : 'false';
    case 'file':
      return value.path;
    case 'peer':
      return value.hostname;
  }
}

/**
 * The arguments of a job's command line. An entry whose parameter has no value (an optional one without a default)
 * is left out whole, so no half-filled argument such as `--value=` reaches the program.
 */
export function renderArgs(
  app: Application,
  run: RunDefinition,
  values: Record<string, AppParameterValue | null | undefined>,
  text: ValueText = plainText,
): string[] {
  const effective = effectiveValues(app, values);
  const out: string[] = [];
  for (const arg of run.args ?? []) {
    const rendered = renderArg(arg, effective, text);
    if (rendered !== null) out.push(rendered);
  }
  return out;
}

function renderArg(arg: Arg, values: Map<string, AppParameterValue>, text: ValueText): string | null {
  if (typeof arg !== 'string') {
    const value = values.get(arg.when);
    return value?.type === 'boolean' && value.value ? arg.flag : null;
  }
  let missing = false;
  const rendered = arg.replace(PLACEHOLDER, (_, name: string) => {
    const value = values.get(name);
    if (!value) {
      missing = true;
      return '';
    }
    return text(name, value);
  });
  return missing ? null : rendered;
}

/**
 * The first parameter whose value would stand alone as an argument and begins with '-', so that the program would read
 * it as an option; null when there is none.
 */
export function optionLikeValue(
  app: Application,
  run: RunDefinition,
  values: Record<string, AppParameterValue | null | undefined>,
): string | null {
  const effective = effectiveValues(app, values);
  for (const arg of run.args ?? []) {
    if (typeof arg !== 'string') continue;
    const name = STANDALONE.exec(arg)?.[1];
    const value = name === undefined ? undefined : effective.get(name);
    if (name !== undefined && value && plainText(name, value).startsWith('-')) return name;
  }
  return null;
}
