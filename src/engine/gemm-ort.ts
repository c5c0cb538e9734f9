/**
 * GEMM on ONNX Runtime's MLAS, through onnxruntime-node's synchronous native binding.
 *
 * The public onnxruntime-node API (`InferenceSession.run`) returns a promise per call, which is far too
 * slow for the thousands of small GEMMs of a training step. The package's native binding
 * (`onnxruntime-node/dist/binding`) is synchronous and accepts pre-allocated output tensors, so MLAS
 * writes straight into our Float32Arrays. That binding is an internal API: the package version is pinned
 * in package.json, every use of it lives in this file, and `test/gemm-ort.test.ts` checks its shape.
 *
 * One tiny ONNX graph (a single Gemm node with symbolic M, N, K) is built per (transA, transB, alpha,
 * beta) and one session serves every shape. For beta != 0 the caller's C is passed both as the Gemm's C
 * input and as the pre-allocated output Y: ORT copies C into Y (a no-op copy onto itself) and MLAS
 * accumulates alpha * op(A) op(B) + beta * Y in place.
 *
 * The binding also returns each output as a copy in a new ArrayBuffer. On machines where fresh pages are
 * expensive (a page fault cost 20-70 us on the 2-core VMs we measured on), allocating that copy costs more
 * than the product itself, so the copy is freed at once (detached) and large outputs run as row blocks.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { applyEpilogue, type Gemm, type GemmArgs } from './gemm.js';
import { tsGemm } from './gemm-ts.js';
import { encodeModel, ONNX_FLOAT } from './onnx-graph.js';

/** The part of onnxruntime-node's internal binding we use (see node_modules/onnxruntime-node/lib/binding.ts). */
interface BindingTensor {
  location: 'cpu';
  type: 'float32';
  dims: number[];
  data: Float32Array;
}
interface BindingValueMetadata {
  name: string;
  isTensor: boolean;
  symbolicDimensions: string[];
  shape: number[];
  type: number;
}
interface BindingSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: BindingValueMetadata[];
  readonly outputMetadata: BindingValueMetadata[];
  run(feeds: Record<string, BindingTensor>, fetches: Record<string, BindingTensor | null>, options: object): Record<string, unknown>;
  dispose(): void;
}
export interface OrtBinding {
  InferenceSession: new () => BindingSession;
}

/** The onnxruntime-node version whose internal binding this file was written against. */
export const ORT_NODE_VERSION = '1.30.0';

let cachedBinding: OrtBinding | undefined;
let cachedLoadError: Error | undefined;

/**
 * Loads onnxruntime-node's native binding and checks that it still has the shape we rely on.
 * Throws an Error explaining what changed if it does not.
 */
export function loadOrtBinding(): OrtBinding {
  if (cachedBinding) return cachedBinding;
  if (cachedLoadError) throw cachedLoadError;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('onnxruntime-node/dist/binding') as { binding?: unknown; initOrt?: unknown };
    const where = 'onnxruntime-node/dist/binding';
    if (typeof mod.initOrt !== 'function') throw new Error(`${where} no longer exports initOrt()`);
    const binding = mod.binding as Partial<OrtBinding> | undefined;
    if (!binding || typeof binding.InferenceSession !== 'function')
      throw new Error(`${where} no longer exports binding.InferenceSession`);
    const proto = binding.InferenceSession.prototype as Partial<BindingSession>;
    for (const method of ['loadModel', 'run', 'dispose'] as const)
      if (typeof proto[method] !== 'function') throw new Error(`${where}: InferenceSession.${method} is missing`);
    (mod.initOrt as () => void)();
    cachedBinding = binding as OrtBinding;
    return cachedBinding;
  } catch (e) {
    let version = 'unknown';
    try {
      version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
    } catch {
      // package missing altogether
    }
    cachedLoadError = new Error(
      `ONNX Runtime GEMM unavailable: onnxruntime-node's internal native binding could not be used ` +
        `(installed version ${version}, written for ${ORT_NODE_VERSION}): ${(e as Error).message}`,
    );
    throw cachedLoadError;
  }
}

type Detach = (buffer: ArrayBuffer) => void;
let cachedDetach: Detach | null | undefined;

/**
 * A function that frees an ArrayBuffer's memory at once (ArrayBuffer.prototype.transfer(0) detaches it),
 * or null where that is unavailable. Node 20 has `transfer` only behind a V8 flag; the flag is switched on
 * just long enough to create a fresh context whose ArrayBuffer has it, then off again.
 */
function arrayBufferDetacher(): Detach | null {
  if (cachedDetach !== undefined) return cachedDetach;
  cachedDetach = null;
  type Transfer = (this: ArrayBuffer, newLength?: number) => ArrayBuffer;
  let transfer = (ArrayBuffer.prototype as unknown as { transfer?: Transfer }).transfer;
  if (typeof transfer !== 'function' && /^20\./.test(process.versions.node)) {
    try {
      setFlagsFromString('--harmony-rab-gsab-transfer');
      transfer = runInNewContext('ArrayBuffer.prototype.transfer') as Transfer | undefined;
    } catch {
      transfer = undefined;
    } finally {
      setFlagsFromString('--no-harmony-rab-gsab-transfer');
    }
  }
  if (typeof transfer === 'function') {
    const t = transfer;
    try {
      const probe = new ArrayBuffer(8);
      t.call(probe, 0);
      if (probe.byteLength === 0) cachedDetach = (b: ArrayBuffer) => void t.call(b, 0);
    } catch {
      // leave it null
    }
  }
  return cachedDetach;
}

export interface RowsGemmOption {
  gemm: Gemm;
  maxRows: number;
  minMacs?: number;
}

export interface OrtGemmOptions {
  /** Intra-op threads of every session; default: the number of cores. */
  threads?: number;
  /**
   * Products with M*N*K below this many multiply-adds run on the TypeScript GEMM (the native call costs a
   * few microseconds). Default: DEFAULT_ORT_MIN_MACS.
   */
  minMacs?: number;
  /** Let ORT's worker threads spin between calls (lower latency, burns a core while waiting). Default false. */
  spin?: boolean;
  /**
   * Free the binding's copy of each output right after the call instead of leaving it to the garbage
   * collector (default true where the runtime allows it; see DEFAULT_ORT_CHUNK_FLOATS).
   */
  releaseOutputCopies?: boolean;
  /**
   * Largest output (in floats) computed by one native call when C's rows can be split (transA false):
   * larger products run as several calls over row blocks. Default: DEFAULT_ORT_CHUNK_FLOATS.
   */
  chunkFloats?: number;
  /**
   * Products of at most `maxRows` rows (A not transposed) go to this GEMM instead of ORT (the native
   * addon's, run on the calling thread: see gemm-default.ts), and instead of the TypeScript GEMM too
   * from `minMacs` multiply-adds (default: the TypeScript GEMM's `minMacs`).
   */
  rows?: RowsGemmOption;
  /**
   * Products that `use` picks (after the two cases above) go to this GEMM instead of ORT: the native
   * addon's blocked GEMM, where it measured faster (see gemm-default.ts).
   */
  blocked?: { gemm: Gemm; use: (args: GemmArgs) => boolean };
}

/**
 * Below this many multiply-adds (M*N*K) the TypeScript GEMM wins (measured with bench/gemm-speed.ts,
 * see docs/decisions.md).
 */
export const DEFAULT_ORT_MIN_MACS = 32768;

/**
 * The binding returns every output as a fresh copy in a new ArrayBuffer (besides writing it into the
 * pre-allocated buffer), so a call's cost includes allocating, zeroing and copying M*N floats; for
 * outputs of many megabytes that means page faults on every call. Products whose rows can be split
 * (transA false) are therefore run over row blocks of at most this many output floats, which keeps the
 * copy small and its memory reused (see docs/decisions.md, section 3).
 */
export const DEFAULT_ORT_CHUNK_FLOATS = 1 << 18;

/** Row blocks are never made smaller than this (MLAS packs B once per call). */
const MIN_CHUNK_ROWS = 8;

interface GemmSession {
  session: BindingSession;
  feeds: Record<string, BindingTensor>;
  fetches: Record<string, BindingTensor>;
  a: BindingTensor;
  b: BindingTensor;
  c: BindingTensor | undefined;
  y: BindingTensor;
}

const RUN_OPTIONS = {};
const EMPTY = new Float32Array(0);

function tensor(): BindingTensor {
  return { location: 'cpu', type: 'float32', dims: [0, 0], data: EMPTY };
}

/** The ONNX model for one Gemm node: Y = alpha * op(A) op(B) (+ beta * C when withC). */
export function gemmModel(transA: boolean, transB: boolean, alpha: number, beta: number, withC: boolean): Uint8Array {
  const inputs = [
    { name: 'A', elemType: ONNX_FLOAT, shape: transA ? ['K', 'M'] : ['M', 'K'] },
    { name: 'B', elemType: ONNX_FLOAT, shape: transB ? ['N', 'K'] : ['K', 'N'] },
  ];
  if (withC) inputs.push({ name: 'C', elemType: ONNX_FLOAT, shape: ['M', 'N'] });
  return encodeModel({
    name: 'gemm',
    opset: 13,
    nodes: [
      {
        opType: 'Gemm',
        inputs: inputs.map((i) => i.name),
        outputs: ['Y'],
        attributes: {
          transA: { kind: 'int', value: transA ? 1 : 0 },
          transB: { kind: 'int', value: transB ? 1 : 0 },
          alpha: { kind: 'float', value: alpha },
          beta: { kind: 'float', value: withC ? beta : 0 },
        },
      },
    ],
    inputs,
    outputs: [{ name: 'Y', elemType: ONNX_FLOAT, shape: ['M', 'N'] }],
  });
}

/** At most this many distinct (transA, transB, alpha, beta) sessions are kept; the oldest is disposed. */
const MAX_SESSIONS = 32;

export class OrtGemm implements Gemm {
  readonly name: string;
  readonly threads: number;
  readonly minMacs: number;
  readonly chunkFloats: number;
  private readonly spin: boolean;
  private readonly detach: Detach | null;
  private readonly binding: OrtBinding;
  private readonly sessions = new Map<string, GemmSession>();
  /** Native ORT runs (one per row block) and calls served by the TypeScript fallback, for benchmarks. */
  ortCalls = 0;
  tsCalls = 0;
  rowsCalls = 0;
  blockedCalls = 0;
  packedCalls = 0;
  private readonly rows: Required<RowsGemmOption> | undefined;
  private readonly blocked: OrtGemmOptions['blocked'];
  /** The blocked GEMM's packed products, when it has them (products of few rows against one B). */
  readonly packB?: Gemm['packB'];
  readonly gemmPacked?: Gemm['gemmPacked'];

  constructor(options: OrtGemmOptions = {}) {
    this.binding = loadOrtBinding();
    this.threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
    this.minMacs = options.minMacs ?? DEFAULT_ORT_MIN_MACS;
    this.spin = options.spin ?? false;
    this.chunkFloats = Math.max(1, options.chunkFloats ?? DEFAULT_ORT_CHUNK_FLOATS);
    this.detach = options.releaseOutputCopies === false ? null : arrayBufferDetacher();
    this.rows = options.rows ? { ...options.rows, minMacs: options.rows.minMacs ?? this.minMacs } : undefined;
    this.blocked = options.blocked;
    const packing = this.blocked?.gemm;
    if (packing?.packB && packing.gemmPacked) {
      const gemmPacked = packing.gemmPacked.bind(packing);
      this.packB = packing.packB.bind(packing);
      this.gemmPacked = (args) => {
        this.packedCalls++;
        gemmPacked(args);
      };
    }
    const rows = this.rows ? `, ${this.rows.gemm.name} up to ${this.rows.maxRows} rows` : '';
    const blocked = this.blocked ? `, ${this.blocked.gemm.name} where faster` : '';
    this.name = `onnxruntime-mlas(${this.threads} thread${this.threads > 1 ? 's' : ''}${rows}${blocked})`;
  }

  private sessionFor(transA: boolean, transB: boolean, alpha: number, beta: number): GemmSession {
    const withC = beta !== 0;
    const key = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}|${alpha}|${withC ? beta : 0}`;
    let s = this.sessions.get(key);
    if (s) return s;
    if (this.sessions.size >= MAX_SESSIONS) {
      const [oldKey, old] = this.sessions.entries().next().value as [string, GemmSession];
      old.session.dispose();
      this.sessions.delete(oldKey);
    }
    const model = gemmModel(transA, transB, alpha, beta, withC);
    const session = new this.binding.InferenceSession();
    session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
      intraOpNumThreads: this.threads,
      graphOptimizationLevel: 'disabled',
      enableCpuMemArena: false,
      extra: { session: { intra_op: { allow_spinning: this.spin ? '1' : '0' } } },
    });
    const a = tensor();
    const b = tensor();
    const c = withC ? tensor() : undefined;
    const y = tensor();
    const feeds: Record<string, BindingTensor> = c ? { A: a, B: b, C: c } : { A: a, B: b };
    s = { session, feeds, fetches: { Y: y }, a, b, c, y };
    this.sessions.set(key, s);
    return s;
  }

  gemm(args: GemmArgs): void {
    const { transA, transB, M, N, K, A, B, C } = args;
    const alpha = args.alpha ?? 1;
    const beta = args.beta ?? 0;
    const ao = args.aOffset ?? 0;
    const bo = args.bOffset ?? 0;
    const co = args.cOffset ?? 0;
    checkArgs(args, ao, bo, co);
    const macs = M * N * K;
    if (this.rows && M <= this.rows.maxRows && !transA && macs >= this.rows.minMacs && macs > 0) {
      this.rowsCalls++;
      this.rows.gemm.gemm(args);
      return;
    }
    if (macs < this.minMacs || M === 0 || N === 0 || K === 0) {
      this.tsCalls++;
      tsGemm.gemm(args);
      return;
    }
    if (this.blocked?.use(args)) {
      this.blockedCalls++;
      this.blocked.gemm.gemm(args);
      return;
    }
    const s = this.sessionFor(transA, transB, alpha, beta);
    // Row blocks of C (and of A, which is [M, K] when not transposed) are contiguous: split large outputs.
    let rows = M;
    if (!transA && M * N > this.chunkFloats) rows = Math.min(M, Math.max(MIN_CHUNK_ROWS, Math.floor(this.chunkFloats / N)));
    const bData = bo === 0 && B.length === K * N ? B : B.subarray(bo, bo + K * N);
    for (let i0 = 0; i0 < M; i0 += rows) {
      const m = Math.min(rows, M - i0);
      const a0 = transA ? ao : ao + i0 * K;
      const c0 = co + i0 * N;
      this.run(s, transA, transB, m, N, K, A, a0, bData, C, c0);
    }
    applyEpilogue(args);
  }

  private run(
    s: GemmSession, transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: Float32Array, ao: number, B: Float32Array, C: Float32Array, co: number,
  ): void {
    this.ortCalls++;
    const aDims = s.a.dims;
    aDims[0] = transA ? K : M;
    aDims[1] = transA ? M : K;
    s.a.data = ao === 0 && A.length === M * K ? A : A.subarray(ao, ao + M * K);
    const bDims = s.b.dims;
    bDims[0] = transB ? N : K;
    bDims[1] = transB ? K : N;
    s.b.data = B;
    const y = co === 0 && C.length === M * N ? C : C.subarray(co, co + M * N);
    s.y.dims[0] = M;
    s.y.dims[1] = N;
    s.y.data = y;
    if (s.c) {
      s.c.dims[0] = M;
      s.c.dims[1] = N;
      s.c.data = y;
    }
    try {
      const out = s.session.run(s.feeds, s.fetches, RUN_OPTIONS);
      if (this.detach) {
        // The binding returns Y as a new Tensor over a copy of our output; free that copy now.
        const data = (out.Y as { data?: unknown } | undefined)?.data;
        if (data instanceof Float32Array && data.buffer !== y.buffer) this.detach(data.buffer as ArrayBuffer);
      }
    } finally {
      // Drop references so the caller's buffers can be collected.
      s.a.data = EMPTY;
      s.b.data = EMPTY;
      s.y.data = EMPTY;
      if (s.c) s.c.data = EMPTY;
    }
  }

  /** Releases every native session. The object stays usable (sessions are recreated on demand). */
  dispose(): void {
    for (const s of this.sessions.values()) s.session.dispose();
    this.sessions.clear();
  }
}

function checkArgs(args: GemmArgs, ao: number, bo: number, co: number): void {
  const { M, N, K, A, B, C } = args;
  for (const [name, v] of [
    ['M', M],
    ['N', N],
    ['K', K],
    ['aOffset', ao],
    ['bOffset', bo],
    ['cOffset', co],
  ] as const)
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`gemm: ${name} must be a non-negative integer, got ${v}`);
  if (ao + M * K > A.length) throw new RangeError(`gemm: A too small (${A.length} < ${ao} + ${M}*${K})`);
  if (bo + K * N > B.length) throw new RangeError(`gemm: B too small (${B.length} < ${bo} + ${K}*${N})`);
  if (co + M * N > C.length) throw new RangeError(`gemm: C too small (${C.length} < ${co} + ${M}*${N})`);
  const e = args.epilogue;
  if (e?.kind === 'reluSquareGrad') {
    const so = e.squaresOffset ?? 0;
    if (!Number.isInteger(so) || so < 0) throw new RangeError(`gemm: squaresOffset must be a non-negative integer, got ${so}`);
    if (so + M * N > e.squares.length) throw new RangeError(`gemm: squares too small (${e.squares.length} < ${so} + ${M}*${N})`);
  }
}

/** Creates the ORT GEMM; throws (with the reason) if the binding cannot be used. */
export function createOrtGemm(options: OrtGemmOptions = {}): OrtGemm {
  return new OrtGemm(options);
}
