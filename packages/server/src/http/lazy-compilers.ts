/**
 * Fastify compiles every route's validators (Ajv) and response serializers
 * (fast-json-stringify) when the server starts: about half of a broker's start-up. These
 * factories compile each one on the route's first use instead, so a broker starts in a fraction
 * of the time and pays, once per route, only for the routes it is asked for.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type Serialize = (data: unknown) => string;

export function lazyValidators(): (externalSchemas: unknown, options: unknown) => (route: unknown) => Validate {
  const build = AjvCompiler();
  return (externalSchemas, options) => {
    const compilerFor = build(externalSchemas as never, options as never) as unknown as (route: unknown) => Validate;
    return (route) => {
      let compiled: Validate | undefined;
      const validate: Validate = (data) => {
        compiled ??= compilerFor(route);
        const ok = compiled(data);
        validate.errors = compiled.errors;
        return ok;
      };
      return validate;
    };
  };
}

export function lazySerializers(): (externalSchemas: unknown, options: unknown) => (route: unknown) => Serialize {
  const build = SerializerSelector();
  return (externalSchemas, options) => {
    const compilerFor = build(externalSchemas as never, options as never) as unknown as (route: unknown) => Serialize;
    return (route) => {
      let compiled: Serialize | undefined;
      return (data) => (compiled ??= compilerFor(route))(data);
    };
  };
}
