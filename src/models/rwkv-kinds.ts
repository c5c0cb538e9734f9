/** The time mixing of each RWKV kind, by configuration (for code that holds a config, not a model). */
import type { Rwkv6Config, RwkvConfig } from './model.js';
import type { TimeMixing } from './rwkv-mixing.js';
import { rwkv4Mixing } from './rwkv.js';
import { rwkv6Mixing } from './rwkv6.js';

export function timeMixingOf(config: RwkvConfig | Rwkv6Config): TimeMixing<unknown, unknown, unknown, unknown> {
  return config.kind === 'rwkv' ? rwkv4Mixing(config.nEmbd) : rwkv6Mixing(config.nEmbd, config.headSize, config.decayLora);
}
