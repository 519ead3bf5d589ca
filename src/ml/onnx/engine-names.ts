/** The inference engines, light enough for the CLI's option help (the engines themselves load tfjs or ONNX Runtime). */
export const ENGINES = ['tfjs', 'onnx'] as const;
export type EngineName = (typeof ENGINES)[number];
