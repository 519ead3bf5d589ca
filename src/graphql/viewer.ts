/**
 * `viewer`: who the caller is, so a client (the web console) can offer only what the caller's
 * token may do, e.g. garment editing to an editor or admin, instead of learning it from refusals.
 */
import { Ctx, Field, ObjectType, Query, Resolver, registerEnumType, Authorized } from 'type-graphql';
import { ROLES, type Role } from '../auth/roles';
import type { GraphQLContext } from './context';

/** API spelling of a role (`ROLES`, least to most). */
export const ApiRole = Object.fromEntries(ROLES.map((role) => [role.toUpperCase(), role])) as { [R in Role as Uppercase<R>]: R };
registerEnumType(ApiRole, {
  name: 'ApiRole',
  description: 'The role of an API token; each role may do everything the roles before it may.',
  valuesConfig: {
    VIEWER: { description: 'Reads: queries, images, subscriptions.' },
    ANALYST: { description: 'Also analyses and uploads photos and starts batch predictions.' },
    EDITOR: { description: 'Also corrects garments and reviews images.' },
    ADMIN: { description: 'Also trains, cancels and activates model versions.' },
  },
});

@ObjectType({ description: 'The caller of this request.' })
export class Viewer {
  @Field(() => ApiRole, { nullable: true, description: "The role of the request's API token; null when it sent none (public reads)." })
  role!: Role | null;
}

@Resolver()
export class ViewerResolver {
  @Authorized<Role>('viewer')
  @Query(() => Viewer, { description: 'The caller of this request: the role of its API token.' })
  viewer(@Ctx() ctx: GraphQLContext): Viewer {
    return Object.assign(new Viewer(), { role: ctx.principal.role });
  }
}
