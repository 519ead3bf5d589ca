/**
 * The GraphQL types of a run's parameters, built from their one declaration (src/jobs/training-schema.ts):
 * StartTrainingInput, what startTraining takes, and TrainingRunParams, what TrainingRun.params shows,
 * have the same fields with the same descriptions. Each field is declared here by applying type-graphql's
 * decorators in a loop; the classes' TypeScript types come from TrainingParamsInput.
 */
import 'reflect-metadata';
import { Field, Float, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

/** type-graphql's type function (its last overload of Field takes one). */
type ReturnTypeFunc = NonNullable<Parameters<typeof Field>[0]>;
type GraphQLTypeOf = ReturnType<ReturnTypeFunc>;
import { GraphQLJSONObject } from 'graphql-scalars';
import { SuperCategory } from '../../kfashion/types';
import { TRAINING_LABELS, type TrainingLabels as TrainingLabelsValue } from '../../ml/data/dataset';
import { describeParameter, TRAINING_PARAMETERS, type ParamSpec, type TrainingParamsInput } from '../../jobs/training-schema';

/** Whose labels a run learns from (the `labels` parameter's values, as an enum). */
export const TrainingLabels = Object.fromEntries(TRAINING_LABELS.map((value) => [value, value])) as { [V in TrainingLabelsValue]: V };
registerEnumType(TrainingLabels, {
  name: 'TrainingLabels',
  description: 'Whose labels a training run learns from.',
  valuesConfig: {
    ANNOTATIONS: { description: 'The training images nobody reviewed, with their annotations (as imported, or as edited).' },
    REVIEWED: { description: 'Only the images a person marked reviewed, with their corrected annotations (reviewed uploads included).' },
    BOTH: { description: 'Every training image, reviewed or not, and reviewed uploads.' },
  },
});

/** The GraphQL type of a parameter: its kind, the SuperCategory enum for the slots and TrainingLabels for the labels. */
function graphqlType(spec: ParamSpec): ReturnTypeFunc {
  if (spec.name === 'superCategories') return () => [SuperCategory];
  if (spec.name === 'labels') return () => TrainingLabels;
  const types: Record<ParamSpec['kind'], GraphQLTypeOf> = {
    integer: Int,
    number: Float,
    integers: [Int],
    strings: [String],
    string: String,
    object: GraphQLJSONObject,
  };
  return () => types[spec.kind];
}

function declareParameterFields(prototype: object): void {
  for (const spec of TRAINING_PARAMETERS as readonly ParamSpec[]) {
    Field(graphqlType(spec), { nullable: true, description: `${describeParameter(spec)}.` })(prototype, spec.name);
  }
}

// The fields are declared by declareParameterFields; the interfaces give the classes their TypeScript types.
// The lint rules below warn that an empty interface adds nothing and that a merged interface declares
// members the class does not initialise: here they are the parameters declareParameterFields
// registers on the class at run time, which is the point of the merge.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging -- see above
export interface StartTrainingInput extends TrainingParamsInput {}
@InputType({
  description:
    'A training run: data filters, model shape and optimiser (defaults: torchvision detection recipe). The same parameters as `kfashion train`.',
})
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see above
export class StartTrainingInput {}
declareParameterFields(StartTrainingInput.prototype);

// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging -- see above
export interface TrainingRunParams extends TrainingParamsInput {}
@ObjectType({
  description:
    'The parameters a training run was started with, as StartTrainingInput takes them (null: not recorded, for runs older than the parameter).',
})
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see above
export class TrainingRunParams {}
declareParameterFields(TrainingRunParams.prototype);
