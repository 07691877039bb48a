/** One parameter of a model structure: what the UI, config validation and export read. */
export interface ParameterSpec {
  name: string;
  unit: string;
  description: string;
  default: number;
  bounds: [number, number];
  /** Where the default and bounds come from. */
  source: string;
}

/** A model structure declared as data: parameters, states, inputs, outputs. */
export interface ModelStructure {
  name: string;
  description: string;
  parameters: readonly ParameterSpec[];
  states: ReadonlyArray<{ name: string; unit: string; description: string }>;
  inputs: ReadonlyArray<{ name: string; unit: string; description: string }>;
  outputs: ReadonlyArray<{ name: string; unit: string; description: string }>;
}
