/** The GraphQL types of appearance similarity: ranked garments with their similarity, and the look of a photo. */
import { Field, Float, ObjectType } from 'type-graphql';
import { Garment, PageInfo } from '../types';

@ObjectType({ description: 'A garment found by appearance, with its cursor and how similar it is.' })
export class SimilarGarmentEdge {
  @Field(() => String, { description: 'Opaque cursor: `after` this one starts the next page.' }) cursor!: string;
  @Field(() => Garment, { description: 'The garment found.' }) node!: Garment;
  @Field(() => Float, {
    description: 'Cosine similarity of the two garments’ embeddings, from -1 to 1 (1: the same appearance).',
  })
  similarity!: number;
}

@ObjectType({
  description: 'Garments ranked by appearance, most similar first (Relay cursor connection): `first` after the `after` cursor.',
})
export class SimilarGarmentConnection {
  @Field(() => [SimilarGarmentEdge], { description: 'The garments of this page, most similar first.' }) edges!: SimilarGarmentEdge[];
  @Field(() => PageInfo, { description: 'Cursors and whether another page follows.' }) pageInfo!: PageInfo;
}

@ObjectType({ description: 'One garment of a photo with the garments most like it (shopTheLook).' })
export class LookMatch {
  @Field(() => Garment, { description: 'The garment of the photo.' }) garment!: Garment;
  @Field(() => [SimilarGarmentEdge], {
    description: 'The garments most like it, most similar first (garments of the same photo excluded); empty when it has no embedding.',
  })
  matches!: SimilarGarmentEdge[];
}
