/**
 * Named frame temperatures (SampleOptions.temperature). "Conservative" is the lowest the product
 * recommends: measured in docs/generation.md, it keeps the music's density while staying close to
 * the model's most likely frames.
 */
export const CONSERVATIVE_TEMPERATURE = 0.5;
export const DEFAULT_TEMPERATURE = 1;
