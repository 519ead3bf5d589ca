/* Generated from schema.graphql by web/codegen/input-fields.cjs (npm run codegen): do not edit. */

import type { StartTrainingInput } from './graphql';

/** One field of an input type; `type` is the named type under any list and non-null wrappers. */
export interface InputFieldShape<Name extends string = string> {
  name: Name;
  description: string | null;
  kind: 'SCALAR' | 'ENUM' | 'INPUT_OBJECT';
  type: string;
  list: boolean;
  required: boolean;
  defaultValue: string | null;
}

export const startTrainingInputFields: readonly InputFieldShape<keyof StartTrainingInput>[] = [
  {
    "name": "attributeKinds",
    "description": "Attribute heads (default every garment kind with values).",
    "kind": "SCALAR",
    "type": "String",
    "list": true,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "backbone",
    "description": "ResNet backbone: resnet18, resnet34, resnet50, resnet101 (default resnet18).",
    "kind": "SCALAR",
    "type": "String",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "batchSize",
    "description": "Images per step (default 2).",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "checkpointEvery",
    "description": "Steps between checkpoints (default 500).",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "clipGradNorm",
    "description": "Rescale gradients whose total L2 norm exceeds this (default off, as torchvision).",
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "epochs",
    "description": "Passes over the training images (default 26, torchvision's detection recipe).",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "evalMaxImages",
    "description": "Evaluate on at most this many validation images (default all).",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "initWeights",
    "description": "Weights to start from: a catalogue name (`kfashion weights list`) or a .safetensors/.pth/.pt file (for the API, in the weights folder, KFASHION_WEIGHTS_DIR); tensors whose name and shape match are loaded.",
    "kind": "SCALAR",
    "type": "String",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "labels",
    "description": "Whose labels to learn from, in this order: the annotations of the training images nobody reviewed, only the images a person marked reviewed (with their corrections; a reviewed upload too), or both: ANNOTATIONS, REVIEWED, BOTH (default ANNOTATIONS).",
    "kind": "ENUM",
    "type": "TrainingLabels",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "lr",
    "description": "Base learning rate (SGD) (default 0.02 × batchSize / 16).",
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "lrGamma",
    "description": "Factor of the learning rate at each milestone (default 0.1).",
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "lrMilestones",
    "description": "Increasing epochs at which the learning rate is multiplied by lrGamma (default 16,22, those before the last epoch).",
    "kind": "SCALAR",
    "type": "Int",
    "list": true,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "maxImages",
    "description": "Use at most this many training images (default all).",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "minValueCount",
    "description": "A category or value needs this many training garments (default 1).",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "model",
    "description": "Further model config keys (torchvision FasterRCNN kwargs: min_size, max_size, rpn_*, box_*, ...; classes and attributes come from the data); the CLI reads them from a JSON file.",
    "kind": "SCALAR",
    "type": "JSONObject",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "momentum",
    "description": "SGD momentum (default 0.9).",
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "name",
    "description": "Name of the model version the run ends with.",
    "kind": "SCALAR",
    "type": "String",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "seed",
    "description": "Seed of initialisation, order, flips and sampling (default 0).",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "superCategories",
    "description": "Train on garments of these slots only (default all).",
    "kind": "ENUM",
    "type": "SuperCategory",
    "list": true,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "warmupFactor",
    "description": "Learning-rate factor at the first warm-up step (default 0.001).",
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "warmupIterations",
    "description": "Linear warm-up length in steps (capped by an epoch) (default 1000).",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "weightDecay",
    "description": "L2 weight decay (default 0.0001).",
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  }
];

export const inputEnumValues: Readonly<Record<string, readonly string[]>> = {
  "SuperCategory": [
    "BOTTOM",
    "ONE_PIECE",
    "OUTER",
    "TOP"
  ],
  "TrainingLabels": [
    "ANNOTATIONS",
    "BOTH",
    "REVIEWED"
  ]
};
