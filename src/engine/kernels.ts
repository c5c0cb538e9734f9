/**
 * The engine's non-GEMM kernels behind one object, so that a model can run on either implementation:
 * `tsKernels` (TypeScript, runs everywhere, the browser included) or the native addon's
 * (src/engine/kernels-native.ts, Node only, chosen by src/engine/kernels-default.ts).
 * Every implementation has the TypeScript kernels' exact signatures, semantics and saved-buffer
 * formats, so the two can be mixed (a forward pass on one, its backward on the other).
 */
import { wkvBackward, wkvForward } from './layers/wkv.js';
import { wkv6Backward, wkv6Forward } from './layers/wkv6.js';
import { tokenShiftMixBackward, tokenShiftMixForward, tokenShiftMixLnBackward } from './layers/tokenshift.js';
import { addLayerNormForward, layerNormBackward, layerNormForward } from './layers/layernorm.js';
import { averageInto, gatedProductBackward, relu, reluBackward, scaleInPlace, sigmoidGate, sumSquares } from './layers/elementwise.js';
import { lstmCellBackward, lstmCellForward } from './layers/lstm.js';
import { adamwUpdate } from './adamw-update.js';
import { bceLossBackward } from './layers/bce.js';
import { columnSums } from './layers/linear.js';
import { applyDropout, dropoutInto } from './layers/dropout.js';

export interface Kernels {
  /** 'ts', or 'native (n threads)' */
  readonly name: string;
  wkvForward: typeof wkvForward;
  wkvBackward: typeof wkvBackward;
  wkv6Forward: typeof wkv6Forward;
  wkv6Backward: typeof wkv6Backward;
  tokenShiftMixForward: typeof tokenShiftMixForward;
  tokenShiftMixBackward: typeof tokenShiftMixBackward;
  tokenShiftMixLnBackward: typeof tokenShiftMixLnBackward;
  layerNormForward: typeof layerNormForward;
  addLayerNormForward: typeof addLayerNormForward;
  layerNormBackward: typeof layerNormBackward;
  relu: typeof relu;
  reluBackward: typeof reluBackward;
  sigmoidGate: typeof sigmoidGate;
  gatedProductBackward: typeof gatedProductBackward;
  lstmCellForward: typeof lstmCellForward;
  lstmCellBackward: typeof lstmCellBackward;
  adamwUpdate: typeof adamwUpdate;
  averageInto: typeof averageInto;
  sumSquares: typeof sumSquares;
  scaleInPlace: typeof scaleInPlace;
  columnSums: typeof columnSums;
  bceLossBackward: typeof bceLossBackward;
  dropoutInto: typeof dropoutInto;
  applyDropout: typeof applyDropout;
}

export const tsKernels: Kernels = {
  name: 'ts',
  wkvForward,
  wkvBackward,
  wkv6Forward,
  wkv6Backward,
  tokenShiftMixForward,
  tokenShiftMixBackward,
  tokenShiftMixLnBackward,
  layerNormForward,
  addLayerNormForward,
  layerNormBackward,
  relu,
  reluBackward,
  sigmoidGate,
  gatedProductBackward,
  lstmCellForward,
  lstmCellBackward,
  adamwUpdate,
  averageInto,
  sumSquares,
  scaleInPlace,
  columnSums,
  bceLossBackward,
  dropoutInto,
  applyDropout,
};
