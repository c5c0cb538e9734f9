import { UserError } from '../errors.js';
import { MAX_MODEL_PARAMETERS } from '../limits.js';
import { MAX_KEY_CHAIN } from './key-chain.js';
import { embeddingInputWidth } from './input-stage.js';
import type { ConditionConfig, KeyChainOrder, LstmConfig, ModelConfig, Rwkv6Config, RwkvConfig } from './model.js';

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UserError(`model config: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Longest lag a model's input projection may read (frames). */
export const MAX_INPUT_LAG = 1024;

function inputLags(v: unknown): number[] | undefined {
  if (v === undefined) return undefined;
  const bad = () => new UserError(`model config: inputLags must be a list of increasing integers in 1..${MAX_INPUT_LAG}, got ${JSON.stringify(v)}`);
  if (!Array.isArray(v) || v.length > 64) throw bad();
  let prev = 0;
  for (const lag of v) {
    if (typeof lag !== 'number' || !Number.isInteger(lag) || lag <= prev || lag > MAX_INPUT_LAG) throw bad();
    prev = lag;
  }
  return v.length > 0 ? [...(v as number[])] : undefined;
}

function keyChain(v: unknown): number | undefined {
  if (v === undefined || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_KEY_CHAIN) {
    throw new UserError(`model config: keyChain must be a whole number of hidden units in 0..${MAX_KEY_CHAIN} (0: independent keys), got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Largest key input a model may have (semitones either way). */
export const MAX_KEY_SHIFTS = 6;

function condition(v: unknown): ConditionConfig | undefined {
  if (v === undefined) return undefined;
  const bad = () => new UserError(`model config: condition must be {"start": true|false, "keyShifts": 0..${MAX_KEY_SHIFTS}}, got ${JSON.stringify(v)}`);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad();
  const c = v as Record<string, unknown>;
  if (Object.keys(c).some((k) => k !== 'start' && k !== 'keyShifts')) throw bad();
  if (typeof c.start !== 'boolean') throw bad();
  const k = c.keyShifts;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > MAX_KEY_SHIFTS) throw bad();
  return c.start || k > 0 ? { start: c.start, keyShifts: k } : undefined;
}

function keyChainOrder(v: unknown, chain: number | undefined): KeyChainOrder | undefined {
  if (v === undefined || v === 'up') return undefined;
  if (v !== 'down') throw new UserError(`model config: keyChainOrder must be "up" or "down", got ${JSON.stringify(v)}`);
  if (!chain) throw new UserError('model config: keyChainOrder needs a key-chain head (keyChain > 0)');
  return v;
}

/** The optional fields every kind shares, checked and copied onto cfg. */
function addShared(cfg: ModelConfig, c: Record<string, unknown>): void {
  const lags = inputLags(c.inputLags);
  if (lags) cfg.inputLags = lags;
  const chain = keyChain(c.keyChain);
  if (chain) cfg.keyChain = chain;
  const order = keyChainOrder(c.keyChainOrder, chain);
  if (order) cfg.keyChainOrder = order;
  const cond = condition(c.condition);
  if (cond) cfg.condition = cond;
  if (c.outputDropout !== undefined && c.outputDropout !== 0) cfg.outputDropout = dropoutRate(c.outputDropout, 'outputDropout');
}

function dropoutRate(v: unknown, what = 'dropout'): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new UserError(`model config: ${what} must be a number in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

/**
 * The number of weights a model of this config has (RWKV-4, RWKV-6 or LSTM, input lags, key-chain
 * head), without building it: what parameterCount() of the built model gives.
 */
export function configParameterCount(c: ModelConfig): number {
  const keys = 88;
  const inputs = embeddingInputWidth(c);
  const chain = (features: number) => (c.keyChain ? c.keyChain * (features + 1 + 2 * keys) + keys * keys : 0);
  if (c.kind === 'rwkv' || c.kind === 'rwkv6') {
    const C = c.nEmbd;
    const ffn = 2 * C /* mixes */ + 2 * C * c.ffn + C * C;
    // RWKV-4: ln1, ln2, time_decay, time_first, 3 mixes, key/value/receptance/output;
    // RWKV-6: ln1, ln2, ln_x, time_decay, time_faaaa, 5 mixes, the decay's two low-rank factors,
    // receptance/key/value/gate/output
    const att = c.kind === 'rwkv' ? 4 * C + 5 * C + 4 * C * C : 6 * C + 7 * C + 2 * C * c.decayLora + 5 * C * C;
    return C * (inputs + 1) + 2 * C + c.nLayer * (att + ffn) + 2 * C + keys * (C + 1) + chain(C);
  }
  const H = c.hidden;
  const E = c.embed;
  const lstm = 4 * H * (E + H + 2) + (c.layers - 1) * 4 * H * (2 * H + 2);
  return E * (inputs + 1) + lstm + keys * (H + 1) + chain(H);
}

function checkSize(cfg: ModelConfig): ModelConfig {
  const n = configParameterCount(cfg);
  if (!(n <= MAX_MODEL_PARAMETERS)) {
    throw new UserError(`model config: ${n.toExponential(2)} weights, more than the ${MAX_MODEL_PARAMETERS.toLocaleString('en-US')} a model may have (docs/limits.md)`);
  }
  return cfg;
}

/** Checks an untrusted config object (e.g. read from a file), including its size, and returns a clean copy. */
export function validateConfig(raw: unknown): ModelConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError('model config: not an object');
  const c = raw as Record<string, unknown>;
  if (c.kind === 'rwkv') {
    const cfg: RwkvConfig = {
      kind: 'rwkv',
      nLayer: positiveInt(c.nLayer, 'nLayer'),
      nEmbd: positiveInt(c.nEmbd, 'nEmbd'),
      ffn: positiveInt(c.ffn, 'ffn'),
      dropout: dropoutRate(c.dropout),
    };
    addShared(cfg, c);
    return checkSize(cfg);
  }
  if (c.kind === 'rwkv6') {
    const nEmbd = positiveInt(c.nEmbd, 'nEmbd');
    const headSize = positiveInt(c.headSize, 'headSize');
    if (nEmbd % headSize !== 0) throw new UserError(`model config: headSize must divide nEmbd, got headSize ${headSize} and nEmbd ${nEmbd}`);
    const cfg: Rwkv6Config = {
      kind: 'rwkv6',
      nLayer: positiveInt(c.nLayer, 'nLayer'),
      nEmbd,
      ffn: positiveInt(c.ffn, 'ffn'),
      headSize,
      decayLora: positiveInt(c.decayLora, 'decayLora'),
      dropout: dropoutRate(c.dropout),
    };
    addShared(cfg, c);
    return checkSize(cfg);
  }
  if (c.kind === 'lstm') {
    const cfg: LstmConfig = {
      kind: 'lstm',
      layers: positiveInt(c.layers, 'layers'),
      hidden: positiveInt(c.hidden, 'hidden'),
      embed: positiveInt(c.embed, 'embed'),
      dropout: dropoutRate(c.dropout),
    };
    addShared(cfg, c);
    return checkSize(cfg);
  }
  throw new UserError(`model config: unknown model kind ${JSON.stringify(c.kind)} (expected "rwkv", "rwkv6" or "lstm")`);
}
