/**
 * `webka/client`: the TypeScript SDK (@webka/client) under the broker package's name, for apps
 * that install `webka` and want its client. It is the same isomorphic code; nothing here imports
 * the server.
 */
export * from '@webka/client';
