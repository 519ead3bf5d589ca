/**
 * A training run's parameters have one definition (src/jobs/training-schema.ts): every one is a field
 * of the API's StartTrainingInput and TrainingRunParams and a flag of `kfashion train`, with the same
 * default and bounds on both sides; refusals are typed (field and problem), never parsed from messages.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { buildSchema } from 'graphql';
import { printApiSchema } from '../../src/graphql/schema';
import { paramsFromOptions, registerTrain } from '../../src/cli/train';
import { flagOf, TRAINING_PARAMETERS, type ParamSpec } from '../../src/jobs/training-schema';
import {
  InvalidTrainingParams,
  normaliseTrainingParams,
  storedParamsAsInput,
  trainingParamsFromInput,
} from '../../src/jobs/training-params';
import { runCli } from '../ml/run-cli';

const SPECS = TRAINING_PARAMETERS as readonly ParamSpec[];
const NAMES = SPECS.map((spec) => spec.name).sort();

/** One non-default value of every parameter, as the API takes it and as `kfashion train`'s flags spell it. */
const API_INPUT = {
  name: 'every parameter',
  backbone: 'resnet34',
  model: { min_size: 320, max_size: 512 },
  superCategories: ['TOP'],
  attributeKinds: ['color', 'print'],
  minValueCount: 3,
  maxImages: 50,
  labels: 'REVIEWED',
  evalMaxImages: 10,
  epochs: 12,
  batchSize: 4,
  lr: 0.01,
  momentum: 0.8,
  weightDecay: 0.001,
  lrMilestones: [4, 9],
  lrGamma: 0.5,
  warmupIterations: 7,
  warmupFactor: 0.01,
  checkpointEvery: 9,
  clipGradNorm: 10,
  seed: 42,
  initWeights: '/weights/start.safetensors',
};

describe('one definition of the training parameters', () => {
  it('gives every parameter a field of StartTrainingInput and TrainingRunParams, with its default in the description', () => {
    const schema = buildSchema(printApiSchema());
    for (const typeName of ['StartTrainingInput', 'TrainingRunParams']) {
      const type = schema.getType(typeName) as unknown as { getFields(): Record<string, { description?: string | null }> };
      expect(Object.keys(type.getFields()).sort()).toEqual(NAMES);
      expect(type.getFields().momentum.description).toBe('SGD momentum (default 0.9).');
    }
    expect(Object.keys(API_INPUT).sort()).toEqual(NAMES);
  });

  it('gives every parameter a flag of kfashion train, momentum, weight decay and the lr factors included', () => {
    const program = new Command();
    registerTrain(program);
    const flags = program.commands[0].options.map((option) => option.long);
    for (const spec of SPECS) expect(flags).toContain(flagOf(spec).split(' ')[0]);
    expect(flags).toEqual(expect.arrayContaining(['--momentum', '--weight-decay', '--lr-gamma', '--warmup-factor']));
  });

  it('turns the flags into the same run as the API input', () => {
    const modelConfig = path.join(os.tmpdir(), `kf-params-${process.pid}.json`);
    fs.writeFileSync(modelConfig, JSON.stringify(API_INPUT.model));
    const flags = {
      name: 'every parameter',
      backbone: 'resnet34',
      modelConfig,
      superCategories: 'TOP',
      attributeKinds: 'color, print',
      minValueCount: '3',
      maxImages: '50',
      labels: 'REVIEWED',
      evalMaxImages: '10',
      epochs: '12',
      batchSize: '4',
      lr: '0.01',
      momentum: '0.8',
      weightDecay: '0.001',
      lrMilestones: '4,9',
      lrGamma: '0.5',
      warmupIterations: '7',
      warmupFactor: '0.01',
      checkpointEvery: '9',
      clipGradNorm: '10',
      seed: '42',
      initWeights: '/weights/start.safetensors',
    };
    const fromCli = trainingParamsFromInput(paramsFromOptions(flags, { device: 'cuda' }));
    const fromApi = trainingParamsFromInput(API_INPUT);
    expect(fromCli).toEqual(fromApi);
    expect(fromApi).toMatchObject({
      momentum: 0.8,
      weightDecay: 0.001,
      lrGamma: 0.5,
      warmupFactor: 0.01,
      data: { maxImages: 50, labels: 'REVIEWED' },
      model: { backbone: 'resnet34', min_size: 320 },
    });
    fs.rmSync(modelConfig);
  });

  it("fills the defaults of torchvision's recipe, the learning rate and milestones from the values before them", () => {
    expect(trainingParamsFromInput({ batchSize: 8, epochs: 20 })).toMatchObject({
      lr: 0.01,
      lrMilestones: [16],
      momentum: 0.9,
      weightDecay: 1e-4,
      lrGamma: 0.1,
      warmupFactor: 0.001,
      clipGradNorm: null,
    });
    expect(trainingParamsFromInput({ epochs: 10 }).lrMilestones).toEqual([]);
  });

  it('reads stored params back as the input they came from, and re-validates them to the same run', () => {
    const params = trainingParamsFromInput(API_INPUT);
    expect(storedParamsAsInput(JSON.parse(JSON.stringify(params)))).toMatchObject({
      ...API_INPUT,
      model: { min_size: 320, max_size: 512 },
    });
    expect(normaliseTrainingParams(JSON.parse(JSON.stringify(params)))).toEqual(params);
    expect(storedParamsAsInput({})).toEqual(Object.fromEntries(NAMES.map((name) => [name, undefined])));
  });

  it('refuses with a typed error naming the parameter as both sides take it', () => {
    const refusal = (input: object) => {
      try {
        trainingParamsFromInput(input);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidTrainingParams);
        return [(error as InvalidTrainingParams).field, (error as InvalidTrainingParams).problem];
      }
      throw new Error('accepted');
    };
    expect(refusal({ momentum: 1 })).toEqual(['momentum', 'must be between 0 and 0.999, got 1']);
    expect(refusal({ weightDecay: -1 })).toEqual(['weightDecay', 'must be between 0 and 0.1, got -1']);
    expect(refusal({ epochs: 2.5 })).toEqual(['epochs', 'expected an integer, got 2.5']);
    expect(refusal({ maxImages: 0 })).toEqual(['maxImages', 'must be between 1 and 100000000, got 0']);
    expect(refusal({ lrMilestones: [1, 'x'] })).toEqual(['lrMilestones[1]', 'expected a number, got "x"']);
    expect(refusal({ superCategories: ['HAT'] })).toEqual(['superCategories', 'unknown value "HAT"; known: TOP, BOTTOM, OUTER, ONE_PIECE']);
    expect(refusal({ backbone: 'vgg16' })).toEqual(['backbone', 'expected one of resnet18, resnet34, resnet50, resnet101, got "vgg16"']);
    expect(refusal({ model: { min_size: 0 } })[0]).toBe('model.min_size');
    expect(refusal({ model: { min_size: 0 } })[1]).toMatch(/^expected an integer in \[/);
    expect(refusal({ backbone: 'resnet50', model: { backbone: 'resnet18' } })[0]).toBe('model.backbone');
    // A backbone in the model keys (a config file may hold one) is the backbone when none is given.
    expect(trainingParamsFromInput({ model: { backbone: 'resnet50' } }).model.backbone).toBe('resnet50');
  });

  it('kfashion train refuses a parameter by its flag before it opens the database', async () => {
    await expect(runCli(['train', '--backend', 'cpu', '--momentum', '2'])).rejects.toThrow(
      /^kfashion train: --momentum: must be between 0 and 0\.999, got 2$/,
    );
    await expect(runCli(['train', '--backend', 'cpu', '--weight-decay', 'lots'])).rejects.toThrow(
      /^--weight-decay: expected a number, got "lots"$/,
    );
    await expect(runCli(['train', '--backend', 'cpu', '--warmup-factor', '0'])).rejects.toThrow(
      /^kfashion train: --warmup-factor: must be between 0\.000001 and 1, got 0$/,
    );
  });
});
