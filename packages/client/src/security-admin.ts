/**
 * Administration of who may do what: principals, their API keys, ACLs, and browser tokens
 * (docs/security.md). Managing principals and ACLs needs a superuser's API key; a principal may
 * manage its own keys and mint tokens with a subset of its own rights. Each method is one HTTP
 * call, without retries, as in Admin.
 *
 *   const sec = new SecurityAdmin(new Webka({ url, token: adminKey }).http);
 *   const { key } = await sec.createKey('billing');   // shown once: store it now
 */
import type { HttpClient } from './http-client.js';
import { seg } from './http-client.js';

export type AclOperation = 'read' | 'write' | 'create' | 'delete' | 'alter' | 'describe' | 'admin';

export interface Principal {
  name: string;
  kind: 'user' | 'service';
  superuser: boolean;
  description: string;
  createdAt: number;
}

/** A key as listed: its id and description, never the key. */
export interface ApiKeyInfo {
  id: string;
  principal: string;
  description: string;
  createdAt: number;
}

/** A key as created: `key` is in this answer only. */
export interface NewApiKey {
  id: string;
  key: string;
  principal: string;
  createdAt: number;
}

/** A set of resources: an exact name (literal) or a prefix; `*` for every name. */
export interface ResourcePattern {
  type: 'cluster' | 'topic' | 'group';
  name: string;
  patternType?: 'literal' | 'prefixed';
  /** For topics and groups: the cluster, or `*` (the broker's default) for every cluster. */
  cluster?: string;
}

export interface Acl {
  id: string;
  /** A principal name, or `*` for every authenticated principal. */
  principal: string;
  effect: 'allow' | 'deny';
  operations: AclOperation[];
  resource: Required<ResourcePattern>;
  createdAt: number;
}

export interface TokenGrant {
  resource: ResourcePattern;
  operations: AclOperation[];
}

export interface MintedToken {
  token: string;
  tokenType: 'Bearer';
  /** Milliseconds since the epoch. */
  expiresAt: number;
  grants: TokenGrant[];
}

export interface WhoAmI {
  principal: string;
  via: 'key' | 'token' | 'anonymous';
  superuser: boolean;
  /** The ACLs that apply to the caller: its own and those for every principal ("*"). */
  acls: Acl[];
  grants?: TokenGrant[];
  expiresAt?: number;
}

export class SecurityAdmin {
  #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  whoami(): Promise<WhoAmI> {
    return this.#http.json('GET', '/v1/whoami');
  }

  // ---- principals

  async listPrincipals(): Promise<Principal[]> {
    return (await this.#http.json<{ principals: Principal[] }>('GET', '/v1/principals')).principals;
  }
  /** With createKey, the answer also holds the principal's first API key (shown once). */
  createPrincipal(p: { name: string; kind?: 'user' | 'service'; superuser?: boolean; description?: string; createKey?: boolean }): Promise<{ principal: Principal; key?: NewApiKey }> {
    return this.#http.json('POST', '/v1/principals', { body: p });
  }
  describePrincipal(name: string): Promise<{ principal: Principal; keys: ApiKeyInfo[]; acls: Acl[] }> {
    return this.#http.json('GET', `/v1/principals/${seg(name)}`);
  }
  /** Deletes the principal with its keys and ACLs (the last superuser cannot be deleted). */
  async deletePrincipal(name: string): Promise<void> {
    await this.#http.json('DELETE', `/v1/principals/${seg(name)}`);
  }

  // ---- API keys

  async listKeys(principal: string): Promise<ApiKeyInfo[]> {
    return (await this.#http.json<{ keys: ApiKeyInfo[] }>('GET', `/v1/principals/${seg(principal)}/keys`)).keys;
  }
  createKey(principal: string, description?: string): Promise<NewApiKey> {
    return this.#http.json('POST', `/v1/principals/${seg(principal)}/keys`, { body: description === undefined ? {} : { description } });
  }
  /** Effective at once: the next request with the key gets 401. */
  async revokeKey(principal: string, keyId: string): Promise<void> {
    await this.#http.json('DELETE', `/v1/principals/${seg(principal)}/keys/${seg(keyId)}`);
  }

  // ---- ACLs

  async listAcls(principal?: string): Promise<Acl[]> {
    return (await this.#http.json<{ acls: Acl[] }>('GET', '/v1/acls', { query: { principal } })).acls;
  }
  addAcl(acl: { principal: string; effect?: 'allow' | 'deny'; operations: AclOperation[]; resource: ResourcePattern }): Promise<Acl> {
    return this.#http.json('POST', '/v1/acls', { body: acl });
  }
  async removeAcl(id: string): Promise<void> {
    await this.#http.json('DELETE', `/v1/acls/${seg(id)}`);
  }

  // ---- browser tokens

  /** A short-lived token with a subset of the caller's rights (the caller must use an API key). */
  createToken(t: { grants: TokenGrant[]; ttlSeconds?: number }): Promise<MintedToken> {
    return this.#http.json('POST', '/v1/tokens', { body: t });
  }
}
