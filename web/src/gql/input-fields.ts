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
    "description": "Attribute heads (default: every garment kind with values).",
    "kind": "SCALAR",
    "type": "String",
    "list": true,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "backbone",
    "description": "resnet18 (default), resnet34, resnet50 or resnet101.",
    "kind": "SCALAR",
    "type": "String",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "batchSize",
    "description": null,
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
    "description": "Rescale gradients above this total L2 norm (default off, as torchvision).",
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "epochs",
    "description": null,
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "evalMaxImages",
    "description": "Evaluate on at most this many validation images.",
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "initWeights",
    "description": "Weights to start from: a catalogue name (`kfashion weights list`, fetched into the weights folder) or a .safetensors/.pth file in the weights folder (KFASHION_WEIGHTS_DIR).",
    "kind": "SCALAR",
    "type": "String",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "lr",
    "description": "Base learning rate (default 0.02 × batchSize / 16).",
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "lrGamma",
    "description": null,
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "lrMilestones",
    "description": "Epochs at which the learning rate is multiplied by lrGamma.",
    "kind": "SCALAR",
    "type": "Int",
    "list": true,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "maxImages",
    "description": "Use at most this many training images.",
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
    "description": "Further model config keys (torchvision FasterRCNN kwargs: min_size, max_size, rpn_*, box_*, ...).",
    "kind": "SCALAR",
    "type": "JSONObject",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "momentum",
    "description": null,
    "kind": "SCALAR",
    "type": "Float",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "name",
    "description": null,
    "kind": "SCALAR",
    "type": "String",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "seed",
    "description": null,
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "superCategories",
    "description": "Train on garments of these slots only.",
    "kind": "ENUM",
    "type": "SuperCategory",
    "list": true,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "warmupIterations",
    "description": null,
    "kind": "SCALAR",
    "type": "Int",
    "list": false,
    "required": false,
    "defaultValue": null
  },
  {
    "name": "weightDecay",
    "description": null,
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
  ]
};
