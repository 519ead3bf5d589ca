/**
 * Authentication of API requests (the `Authorization: Bearer` header on HTTP, the same value in
 * graphql-ws `connectionParams`) and type-graphql's auth checker, which enforces the roles named
 * by `@Authorized` on the root fields.
 */
import { GraphQLError } from 'graphql';
import type { AuthChecker } from 'type-graphql';
import type { DataSource } from 'typeorm';
import { ANONYMOUS, denial, type Principal, type Role } from '../auth/roles';
import { principalOfToken } from '../db/api-tokens';
import type { GraphQLContext } from './context';
import { ErrorCode } from './errors';

/** A token was sent but is malformed, unknown, revoked or expired: refused rather than treated as anonymous. */
export class InvalidToken extends Error {
  readonly code = ErrorCode.Unauthenticated;
  readonly status = 401;
  constructor() {
    super('the API token is invalid, revoked or expired');
  }
}

/**
 * Image routes also accept the token from this cookie: an `<img>` cannot send a header. It only
 * ever grants reads (GET image routes), and SameSite=Strict keeps other sites from sending it.
 */
export const TOKEN_COOKIE = 'kfashion_token';

export class RequestAuth {
  constructor(
    private readonly dataSource: DataSource,
    readonly publicRead: boolean,
  ) {}

  /** The caller named by an `Authorization` value (header or connectionParams); anonymous without one. */
  async principal(authorization: unknown): Promise<Principal> {
    if (authorization === undefined || authorization === null || authorization === '') return ANONYMOUS;
    const match = typeof authorization === 'string' ? /^Bearer +([A-Za-z0-9_-]{1,200})$/.exec(authorization.trim()) : null;
    if (!match) throw new InvalidToken();
    const principal = await principalOfToken(this.dataSource, match[1]);
    if (!principal) throw new InvalidToken();
    return principal;
  }

  /** The caller of an image route: the header, else the console's cookie. */
  async imageReader(headers: { authorization?: string; cookie?: string }): Promise<Principal> {
    if (headers.authorization) return this.principal(headers.authorization);
    const cookie = (headers.cookie ?? '')
      .split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${TOKEN_COOKIE}=`));
    return this.principal(cookie ? `Bearer ${cookie.slice(TOKEN_COOKIE.length + 1)}` : undefined);
  }

  /** The graphql-ws `connectionParams` carry the header's value under `authorization`. */
  connectionPrincipal(params: Readonly<Record<string, unknown>> | undefined): Promise<Principal> {
    return this.principal(params?.authorization ?? params?.Authorization);
  }
}

/** `@Authorized(role)` passes when the request's principal has that role or a higher one. */
export const authChecker: AuthChecker<GraphQLContext, Role> = ({ context }, roles) => {
  const required = roles[0] ?? 'viewer';
  const refused = denial(context.principal, required, context.publicRead);
  if (refused) throw new GraphQLError(refused.message, { extensions: { code: refused.code } });
  return true;
};
