/**
 * The conditioning columns a batch position carries beside its frame (see Batch.condition), defined
 * once for the batching that writes them and the models that read them.
 */

export interface ConditionConfig {
  /**
   * A start-of-piece input: sequences that begin at their first frame are read after a start step
   * (an empty frame with this flag on), so the first frame is predicted and trained too.
   */
  start: boolean;
  /**
   * Largest transposition, in semitones, the model knows: the embedding reads the piece's shift from
   * the data's key as a one-hot over -keyShifts..keyShifts (0: no key input).
   */
  keyShifts: number;
}

/** Number of conditioning columns per position. */
export function conditionWidth(condition: ConditionConfig | undefined): number {
  if (!condition) return 0;
  return (condition.start ? 1 : 0) + (condition.keyShifts > 0 ? 2 * condition.keyShifts + 1 : 0);
}

/**
 * Writes one position's conditioning columns into out[offset..offset+width): the start flag, then
 * the one-hot of `keyShift` (which must lie within -keyShifts..keyShifts).
 */
export function writeCondition(out: Float32Array, offset: number, condition: ConditionConfig, atStart: boolean, keyShift: number): void {
  let at = offset;
  if (condition.start) out[at++] = atStart ? 1 : 0;
  const K = condition.keyShifts;
  if (K > 0) {
    out.fill(0, at, at + 2 * K + 1);
    out[at + K + keyShift] = 1;
  }
}
