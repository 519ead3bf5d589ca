/** GraphQL types of the review queue (Query.reviewQueue). */
import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';
import type { UncertaintyReasonKind } from '../../db/review-queue';
import { AttributeKind, Garment, Image, PageInfo } from '../types';

export const ReviewOrder = { UNCERTAINTY: 'UNCERTAINTY', RANDOM: 'RANDOM' } as const;
export type ReviewOrder = (typeof ReviewOrder)[keyof typeof ReviewOrder];
registerEnumType(ReviewOrder, {
  name: 'ReviewOrder',
  description: 'The order of the review queue.',
  valuesConfig: {
    UNCERTAINTY: { description: 'The images the model version is least sure about first (score descending, then newest image first).' },
    RANDOM: { description: 'A seeded shuffle: the same seed gives the same order, page after page.' },
  },
});

export const ReviewReasonKind = {
  ATTRIBUTE_MARGIN: 'ATTRIBUTE_MARGIN',
  DETECTION_SCORE: 'DETECTION_SCORE',
  DISAGREEMENT: 'DISAGREEMENT',
  MISSED_GARMENT: 'MISSED_GARMENT',
} as const satisfies Record<UncertaintyReasonKind, UncertaintyReasonKind>;
export type ReviewReasonKind = UncertaintyReasonKind;
registerEnumType(ReviewReasonKind, {
  name: 'ReviewReasonKind',
  description: 'Why the queue finds an image doubtful; each reason scores from 0 (sure) to 1 (most doubtful).',
  valuesConfig: {
    ATTRIBUTE_MARGIN: {
      description: 'A single-label attribute of a predicted garment whose two most probable values are close: 1 − (p₁ − p₂).',
    },
    DETECTION_SCORE: { description: 'A detection scored near the threshold: 1 − |score − threshold| / max(threshold, 1 − threshold).' },
    DISAGREEMENT: {
      description: 'An annotation overlapped (IoU ≥ 0.5) by a confident prediction of another category: its detection score.',
    },
    MISSED_GARMENT: {
      description:
        'An annotation no confident prediction overlaps at IoU ≥ 0.5 (1 − best IoU / 0.5), or a confident prediction no annotation overlaps (its detection score).',
    },
  },
});

@ObjectType({ description: 'One reason for an image’s place in the review queue, with its score.' })
export class ReviewReason {
  @Field(() => ReviewReasonKind, { description: 'What kind of doubt.' }) kind!: ReviewReasonKind;
  @Field(() => Float, { description: 'From 0 (sure) to 1 (most doubtful); the image’s score is its largest reason score.' }) score!: number;
  @Field(() => Garment, {
    nullable: true,
    description: 'The garment it is about (a prediction, or the annotation for DISAGREEMENT and a missed annotation); null once deleted.',
  })
  garment!: Garment | null;
  garmentId!: string | null;
  @Field(() => AttributeKind, { nullable: true, description: 'For ATTRIBUTE_MARGIN: the attribute kind.' })
  attributeKind!: AttributeKind | null;
  @Field(() => String, { description: 'What was compared, with the numbers, for people.' }) detail!: string;
}

@ObjectType({ description: 'One image of the review queue, with its cursor, score and reasons.' })
export class ReviewQueueEdge {
  @Field(() => String, { description: 'Opaque cursor: `after` this one starts the next page.' }) cursor!: string;
  @Field(() => Image, { description: 'The image to review.' }) node!: Image;
  @Field(() => Float, {
    description: 'How unsure the model version is about the image, 0 to 1 (its largest reason score); 0 when it has not predicted it.',
  })
  score!: number;
  @Field(() => [ReviewReason], { description: 'The strongest reasons (up to 10), most doubtful first.' }) reasons!: ReviewReason[];
}

@ObjectType({
  description: 'A page of the review queue (Relay cursor connection): `first` (0 to the page limit) after the `after` cursor.',
})
export class ReviewQueueConnection {
  @Field(() => [ReviewQueueEdge], { description: 'The images of this page, in queue order.' }) edges!: ReviewQueueEdge[];
  @Field(() => PageInfo, { description: 'Cursors and whether another page follows.' }) pageInfo!: PageInfo;
}
