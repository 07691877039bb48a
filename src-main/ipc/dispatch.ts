import {
  contract,
  prototypeKeyIssues,
  toSerializedError,
  type CallResult,
  type MethodSpec,
  type SerializedError,
  type ServiceImpls,
} from '../../src-shared/ipc';

type AnyImpl = Record<string, (arg: unknown) => unknown>;

/** Formats schema issues as `{path, message}` so the error names each offending field. */
function issuesOf(issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code: string }>) {
  return issues.map((i) => ({
    path: i.path.map(String).join('.') || '(argument)',
    message: i.message,
    code: i.code,
  }));
}

/**
 * Validates and runs one call: the single entry point that both the Electron handlers and the
 * WebSocket bridge use. Nothing the caller sends reaches a service before it matches the contract;
 * every failure comes back as a serialisable `{code, message, details}`.
 */
export async function dispatch(
  impls: ServiceImpls,
  service: string,
  method: string,
  payload: unknown,
): Promise<CallResult> {
  // Own-property checks: `__proto__`, `constructor` and the like are not methods.
  const svc = Object.hasOwn(contract, service)
    ? (contract as Record<string, Record<string, MethodSpec>>)[service]
    : undefined;
  const spec = svc && Object.hasOwn(svc, method) ? svc[method] : undefined;
  if (!spec) {
    return fail({
      code: 'UNKNOWN_METHOD',
      message: `Unknown method ${service}.${method}`,
      details: { service, method },
    });
  }
  // zod drops `__proto__` from records and loose objects silently: refuse prototype keys first
  const proto = prototypeKeyIssues(payload);
  if (proto.length) {
    const issues = proto.map((i) => ({ path: i.path.join('.'), message: i.message, code: 'custom' }));
    return fail({
      code: 'VALIDATION',
      message: `Invalid argument for ${service}.${method}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      details: { service, method, issues },
    });
  }
  const parsed = spec.input.safeParse(payload === undefined ? {} : payload);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error.issues);
    return fail({
      code: 'VALIDATION',
      message: `Invalid argument for ${service}.${method}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      details: { service, method, issues },
    });
  }
  try {
    const impl = (impls as unknown as Record<string, AnyImpl>)[service]![method]!;
    const value = await impl(parsed.data);
    // The output schema guards the other direction: a service bug never sends malformed data.
    const out = spec.output.safeParse(value);
    if (!out.success) {
      return fail({
        code: 'INTERNAL',
        message: `${service}.${method} produced a result that does not match the contract`,
        details: { service, method, issues: issuesOf(out.error.issues) },
      });
    }
    return { ok: true, value: out.data };
  } catch (err) {
    return fail(toSerializedError(err));
  }
}

const fail = (error: SerializedError): CallResult => ({ ok: false, error });
