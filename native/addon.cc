// The addon's JavaScript interface: one function per kernel, arguments flattened (optional groups
// passed as null), called from src/engine/kernels-native.ts. Shapes are checked against the array
// lengths before any kernel runs.
#include <node_api.h>

#include <string>

#include "args.h"
#include "cpu.h"
#include "kernels.h"
#include "pool.h"

namespace rm {
namespace {

// Bumped whenever a function's arguments change, so that a stale build is not used.
constexpr int kAbiVersion = 9;

using i64 = int64_t;

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value wkv_forward_js(napi_env env, napi_callback_info info) {
  Args a(env, info, "wkvForward");
  const int B = a.count(8, "B"), T = a.count(9, "T"), C = a.count(10, "C");
  const i64 n = static_cast<i64>(B) * T * C, s = static_cast<i64>(B) * C;
  float* y = a.f32(0, "y", n);
  const float* k = a.f32(1, "k", n);
  const float* v = a.f32(2, "v", n);
  const float* td = a.f32(3, "timeDecay", C);
  const float* tf = a.f32(4, "timeFirst", C);
  double* aa = a.f64(5, "state.aa", s);
  double* bb = a.f64(6, "state.bb", s);
  double* pp = a.f64(7, "state.pp", s);
  const bool save = !a.is_null(11);
  float* decay = a.f32(11, "saved.decay", n, !save);
  float* ek = a.f32(12, "saved.ek", n, !save);
  float* g = a.f32(13, "saved.g", n, !save);
  float* cu = a.f32(14, "saved.cu", n, !save);
  const bool gate = !a.is_null(15);
  float* r = a.f32(15, "gate.r", n, !gate);
  float* rw = a.f32(16, "gate.rw", n, !gate);
  if (a.ok()) wkv_forward(y, k, v, td, tf, aa, bb, pp, B, T, C, decay, ek, g, cu, r, rw);
  return undefined(env);
}

napi_value wkv_backward_js(napi_env env, napi_callback_info info) {
  Args a(env, info, "wkvBackward");
  const int B = a.count(12, "B"), T = a.count(13, "T"), C = a.count(14, "C");
  const i64 n = static_cast<i64>(B) * T * C;
  float* dk = a.f32(0, "dk", n);
  float* dv = a.f32(1, "dv", n);
  float* dtd = a.f32(2, "dTimeDecay", C);
  float* dtf = a.f32(3, "dTimeFirst", C);
  const float* dy = a.f32(4, "dy", n);
  const float* v = a.f32(5, "v", n);
  const float* y = a.f32(6, "y", n);
  const float* decay = a.f32(7, "saved.decay", n);
  const float* ek = a.f32(8, "saved.ek", n);
  const float* g = a.f32(9, "saved.g", n);
  const float* cu = a.f32(10, "saved.cu", n);
  const float* td = a.f32(11, "timeDecay", C);
  const bool gate = !a.is_null(15);
  const float* r = a.f32(15, "gate.r", n, !gate);
  float* dpre = a.f32(16, "gate.dpre", n, !gate);
  const i64 s = static_cast<i64>(B) * C;
  const bool start = !a.is_null(17);
  const double* aa0 = a.f64(17, "start.aa", s, !start);
  const double* bb0 = a.f64(18, "start.bb", s, !start);
  double* daa = a.f64(19, "startGrad.aa", s, !start);
  double* dbb = a.f64(20, "startGrad.bb", s, !start);
  double* dpp = a.f64(21, "startGrad.pp", s, !start);
  if (a.ok()) wkv_backward(dk, dv, dtd, dtf, dy, v, y, decay, ek, g, cu, td, B, T, C, r, dpre, aa0, bb0, daa, dbb, dpp);
  return undefined(env);
}

// Reads J = 2 or 3 arrays at i, i+1, i+2 (the third null for J = 2).
int mix_count(Args& a, size_t third) { return a.is_null(third) ? 2 : 3; }

// The head size must divide the channels; the chunk-start states take ceil(T/16)*C*S doubles per row.
bool wkv6_shape(Args& a, int C, int S) {
  if (a.ok() && (S <= 0 || C % S != 0)) {
    a.invalid("head size " + std::to_string(S) + " does not divide " + std::to_string(C) + " channels");
    return false;
  }
  return a.ok();
}

napi_value wkv6_forward_js(napi_env env, napi_callback_info info) {
  // (y, r, k, v, w, u, state, B, T, C, S, save)
  Args a(env, info, "wkv6Forward");
  const int B = a.count(7, "B"), T = a.count(8, "T"), C = a.count(9, "C"), S = a.count(10, "S");
  if (!wkv6_shape(a, C, S)) return undefined(env);
  const i64 n = static_cast<i64>(B) * T * C, s = static_cast<i64>(B) * C * S;
  const i64 saved = static_cast<i64>(B) * ((T + 15) / 16) * C * S;
  float* y = a.f32(0, "y", n);
  const float* r = a.f32(1, "r", n);
  const float* k = a.f32(2, "k", n);
  const float* v = a.f32(3, "v", n);
  const float* w = a.f32(4, "w", n);
  const float* u = a.f32(5, "u", C);
  double* state = a.f64(6, "state", s);
  double* save = a.f64(11, "save", saved, true);
  if (a.ok()) wkv6_forward(y, r, k, v, w, u, state, B, T, C, S, save);
  return undefined(env);
}

napi_value wkv6_backward_js(napi_env env, napi_callback_info info) {
  // (dr, dk, dv, dw, du, dy, r, k, v, w, u, saved, B, T, C, S, dstate)
  Args a(env, info, "wkv6Backward");
  const int B = a.count(12, "B"), T = a.count(13, "T"), C = a.count(14, "C"), S = a.count(15, "S");
  if (!wkv6_shape(a, C, S)) return undefined(env);
  const i64 n = static_cast<i64>(B) * T * C, s = static_cast<i64>(B) * C * S;
  const i64 saved_len = static_cast<i64>(B) * ((T + 15) / 16) * C * S;
  float* dr = a.f32(0, "dr", n);
  float* dk = a.f32(1, "dk", n);
  float* dv = a.f32(2, "dv", n);
  float* dw = a.f32(3, "dw", n);
  float* du = a.f32(4, "du", C);
  const float* dy = a.f32(5, "dy", n);
  const float* r = a.f32(6, "r", n);
  const float* k = a.f32(7, "k", n);
  const float* v = a.f32(8, "v", n);
  const float* w = a.f32(9, "w", n);
  const float* u = a.f32(10, "u", C);
  const double* saved = a.f64(11, "saved", saved_len);
  double* dstate = a.f64(16, "dstate", s, true);
  if (a.ok()) wkv6_backward(dr, dk, dv, dw, du, dy, r, k, v, w, u, saved, B, T, C, S, dstate);
  return undefined(env);
}

napi_value token_shift_mix_forward_js(napi_env env, napi_callback_info info) {
  // (o0, o1, o2|null, x, m0, m1, m2|null, prev|null, B, T, C)
  Args a(env, info, "tokenShiftMixForward");
  const int B = a.count(8, "B"), T = a.count(9, "T"), C = a.count(10, "C");
  const i64 n = static_cast<i64>(B) * T * C;
  const int J = mix_count(a, 2);
  float* outs[3] = {a.f32(0, "outs[0]", n), a.f32(1, "outs[1]", n), J == 3 ? a.f32(2, "outs[2]", n) : nullptr};
  const float* x = a.f32(3, "x", n);
  const float* mus[3] = {a.f32(4, "mus[0]", C), a.f32(5, "mus[1]", C), J == 3 ? a.f32(6, "mus[2]", C) : nullptr};
  const float* prev = a.f32(7, "prev", static_cast<i64>(B) * C, true);
  if (a.ok()) token_shift_mix_forward(J, outs, x, mus, prev, B, T, C);
  return undefined(env);
}

napi_value token_shift_mix_backward_js(napi_env env, napi_callback_info info) {
  // (dx, accumulate, dm0, dm1, dm2|null, d0, d1, d2|null, x, m0, m1, m2|null, B, T, C)
  Args a(env, info, "tokenShiftMixBackward");
  const int B = a.count(12, "B"), T = a.count(13, "T"), C = a.count(14, "C");
  const i64 n = static_cast<i64>(B) * T * C;
  const int J = mix_count(a, 7);
  float* dx = a.f32(0, "dx", n);
  const bool accumulate = a.flag(1, "accumulate");
  float* dmus[3] = {a.f32(2, "dmus[0]", C), a.f32(3, "dmus[1]", C), J == 3 ? a.f32(4, "dmus[2]", C) : nullptr};
  const float* douts[3] = {a.f32(5, "douts[0]", n), a.f32(6, "douts[1]", n), J == 3 ? a.f32(7, "douts[2]", n) : nullptr};
  const float* x = a.f32(8, "x", n);
  const float* mus[3] = {a.f32(9, "mus[0]", C), a.f32(10, "mus[1]", C), J == 3 ? a.f32(11, "mus[2]", C) : nullptr};
  if (a.ok()) token_shift_mix_backward(J, dx, accumulate, dmus, douts, x, mus, B, T, C);
  return undefined(env);
}

napi_value token_shift_mix_ln_backward_js(napi_env env, napi_callback_info info) {
  // (dinp, dm0, dm1, dm2|null, d0, d1, d2|null, x, m0, m1, m2|null, inp, mean, rstd, weight, dweight, dbias, B, T, C)
  Args a(env, info, "tokenShiftMixLnBackward");
  const int B = a.count(17, "B"), T = a.count(18, "T"), C = a.count(19, "C");
  const i64 N = static_cast<i64>(B) * T, n = N * C;
  const int J = mix_count(a, 6);
  float* dinp = a.f32(0, "dinp", n);
  float* dmus[3] = {a.f32(1, "dmus[0]", C), a.f32(2, "dmus[1]", C), J == 3 ? a.f32(3, "dmus[2]", C) : nullptr};
  const float* douts[3] = {a.f32(4, "douts[0]", n), a.f32(5, "douts[1]", n), J == 3 ? a.f32(6, "douts[2]", n) : nullptr};
  const float* x = a.f32(7, "x", n);
  const float* mus[3] = {a.f32(8, "mus[0]", C), a.f32(9, "mus[1]", C), J == 3 ? a.f32(10, "mus[2]", C) : nullptr};
  const float* inp = a.f32(11, "ln.inp", n);
  const float* mean = a.f32(12, "ln.mean", N);
  const float* rstd = a.f32(13, "ln.rstd", N);
  const float* weight = a.f32(14, "ln.weight", C);
  float* dweight = a.f32(15, "ln.dweight", C);
  float* dbias = a.f32(16, "ln.dbias", C);
  if (a.ok()) token_shift_mix_ln_backward(J, dinp, dmus, douts, x, mus, inp, mean, rstd, weight, dweight, dbias, B, T, C);
  return undefined(env);
}

napi_value layer_norm_forward_js(napi_env env, napi_callback_info info) {
  // (out, mean, rstd, inp, weight, bias, N, C)
  Args a(env, info, "layerNormForward");
  const int N = a.count(6, "N"), C = a.count(7, "C");
  const i64 n = static_cast<i64>(N) * C;
  float* out = a.f32(0, "out", n);
  float* mean = a.f32(1, "mean", N);
  float* rstd = a.f32(2, "rstd", N);
  const float* inp = a.f32(3, "inp", n);
  const float* weight = a.f32(4, "weight", C);
  const float* bias = a.f32(5, "bias", C);
  if (a.ok()) layer_norm_forward(out, mean, rstd, inp, weight, bias, N, C);
  return undefined(env);
}

napi_value add_layer_norm_forward_js(napi_env env, napi_callback_info info) {
  // (sum, out, mean, rstd, a, branch, weight, bias, N, C, dropOn, dropSeed, dropThreshold, dropScale)
  Args a(env, info, "addLayerNormForward");
  const int N = a.count(8, "N"), C = a.count(9, "C");
  const i64 n = static_cast<i64>(N) * C;
  float* sum = a.f32(0, "sum", n);
  float* out = a.f32(1, "out", n);
  float* mean = a.f32(2, "mean", N);
  float* rstd = a.f32(3, "rstd", N);
  const float* x = a.f32(4, "a", n);
  const float* branch = a.f32(5, "branch", n);
  const float* weight = a.f32(6, "weight", C);
  const float* bias = a.f32(7, "bias", C);
  Dropout drop{a.flag(10, "dropOn"), static_cast<uint32_t>(a.number(11, "drop.seed")),
               static_cast<uint32_t>(a.number(12, "drop.threshold")), a.number(13, "drop.scale")};
  if (a.ok()) add_layer_norm_forward(sum, out, mean, rstd, x, branch, drop, weight, bias, N, C);
  return undefined(env);
}

napi_value layer_norm_backward_js(napi_env env, napi_callback_info info) {
  // (dinp, accumulate, dweight, dbias, dout, inp, mean, rstd, weight, N, C)
  Args a(env, info, "layerNormBackward");
  const int N = a.count(9, "N"), C = a.count(10, "C");
  const i64 n = static_cast<i64>(N) * C;
  float* dinp = a.f32(0, "dinp", n);
  const bool accumulate = a.flag(1, "accumulate");
  float* dweight = a.f32(2, "dweight", C);
  float* dbias = a.f32(3, "dbias", C);
  const float* dout = a.f32(4, "dout", n);
  const float* inp = a.f32(5, "inp", n);
  const float* mean = a.f32(6, "mean", N);
  const float* rstd = a.f32(7, "rstd", N);
  const float* weight = a.f32(8, "weight", C);
  if (a.ok()) layer_norm_backward(dinp, accumulate, dweight, dbias, dout, inp, mean, rstd, weight, N, C);
  return undefined(env);
}

// Bindings of the kernels f(out, in, n): an output and an input of n floats, then n.
template <void (*F)(float*, const float*, int64_t)>
napi_value out_in_js(napi_env env, napi_callback_info info, const char* name, const char* out_name, const char* in_name) {
  Args a(env, info, name);
  const int n = a.count(2, "n");
  float* out = a.f32(0, out_name, n);
  const float* in = a.f32(1, in_name, n);
  if (a.ok()) F(out, in, n);
  return undefined(env);
}

napi_value relu_js(napi_env env, napi_callback_info info) { return out_in_js<relu>(env, info, "relu", "out", "x"); }

napi_value relu_backward_js(napi_env env, napi_callback_info info) {
  return out_in_js<relu_backward>(env, info, "reluBackward", "dx", "x");
}

napi_value sigmoid_gate_js(napi_env env, napi_callback_info info) {
  Args a(env, info, "sigmoidGate");
  const int n = a.count(3, "n");
  float* out = a.f32(0, "out", n);
  float* r = a.f32(1, "r", n);
  const float* z = a.f32(2, "z", n);
  if (a.ok()) sigmoid_gate(out, r, z, n);
  return undefined(env);
}

napi_value gated_product_backward_js(napi_env env, napi_callback_info info) {
  Args a(env, info, "gatedProductBackward");
  const int n = a.count(5, "n");
  float* dz = a.f32(0, "dz", n);
  float* dpre = a.f32(1, "dpre", n);
  const float* dout = a.f32(2, "dout", n);
  const float* r = a.f32(3, "r", n);
  const float* z = a.f32(4, "z", n);
  if (a.ok()) gated_product_backward(dz, dpre, dout, r, z, n);
  return undefined(env);
}

napi_value adamw_update_js(napi_env env, napi_callback_info info) {
  // (w, g, m, v, shrink, beta1, beta2, eps, stepSize, invSqrtBc2): every array as long as w
  Args a(env, info, "adamwUpdate");
  const i64 n = a.length(0, "w");
  float* w = a.f32(0, "w", n);
  const float* g = a.f32(1, "g", n);
  float* m = a.f32(2, "m", n);
  float* v = a.f32(3, "v", n);
  AdamWStep s{a.number(5, "beta1"), a.number(6, "beta2"), a.number(7, "eps"), a.number(8, "stepSize"),
              a.number(9, "invSqrtBc2"), a.number(4, "shrink")};
  if (a.ok()) adamw_update(w, g, m, v, n, s);
  return undefined(env);
}

napi_value average_into_js(napi_env env, napi_callback_info info) {
  // (avg, w, d): both as long as w
  Args a(env, info, "averageInto");
  const i64 n = a.length(1, "w");
  float* avg = a.f32(0, "avg", n);
  const float* w = a.f32(1, "w", n);
  const double d = a.number(2, "d");
  if (a.ok()) average_into(avg, w, n, d);
  return undefined(env);
}

napi_value sum_squares_js(napi_env env, napi_callback_info info) {
  Args a(env, info, "sumSquares");
  const i64 n = a.length(0, "x");
  const float* x = a.f32(0, "x", n);
  napi_value result;
  napi_create_double(env, a.ok() ? sum_squares(x, n) : 0, &result);
  return result;
}

napi_value dropout_js(napi_env env, napi_callback_info info) {
  // (out, x, n, seed, threshold, scale)
  Args a(env, info, "dropout");
  const i64 n = a.count(2, "n");
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "x", n);
  const double seed = a.number(3, "seed"), threshold = a.number(4, "threshold"), scale = a.number(5, "scale");
  if (a.ok()) dropout(out, x, n, static_cast<uint32_t>(seed), static_cast<uint32_t>(threshold), scale);
  return undefined(env);
}

napi_value column_sums_js(napi_env env, napi_callback_info info) {
  // (sums, x, N, O)
  Args a(env, info, "columnSums");
  const int N = a.count(2, "N"), O = a.count(3, "O");
  double* sums = a.f64(0, "sums", O);
  const float* x = a.f32(1, "x", static_cast<i64>(N) * O);
  if (a.ok()) column_sums(sums, x, N, O);
  return undefined(env);
}

napi_value bce_loss_backward_js(napi_env env, napi_callback_info info) {
  // (dlogits, logits, targets, mask, N, D, scale)
  Args a(env, info, "bceLossBackward");
  const int N = a.count(4, "N"), D = a.count(5, "D");
  const i64 n = static_cast<i64>(N) * D;
  float* dlogits = a.f32(0, "dlogits", n);
  const float* logits = a.f32(1, "logits", n);
  const float* targets = a.f32(2, "targets", n);
  const float* mask = a.f32(3, "mask", N);
  const double scale = a.number(6, "scale");
  napi_value result;
  napi_create_double(env, a.ok() ? bce_loss_backward(dlogits, logits, targets, mask, N, D, scale) : 0, &result);
  return result;
}

napi_value scale_in_place_js(napi_env env, napi_callback_info info) {
  Args a(env, info, "scaleInPlace");
  const i64 n = a.length(0, "x");
  float* x = a.f32(0, "x", n);
  const double s = a.number(1, "s");
  if (a.ok()) scale_in_place(x, n, s);
  return undefined(env);
}

napi_value lstm_cell_forward_js(napi_env env, napi_callback_info info) {
  // (gates, c, h, tc, t, B, H)
  Args a(env, info, "lstmCellForward");
  const int t = a.count(4, "t"), B = a.count(5, "B"), H = a.count(6, "H");
  const i64 BH = static_cast<i64>(B) * H;
  float* gates = a.f32(0, "gates", (t + 1) * BH * 4);
  float* c = a.f32(1, "c", (t + 2) * BH);
  float* h = a.f32(2, "h", (t + 2) * BH);
  float* tc = a.f32(3, "tc", (t + 1) * BH);
  if (a.ok()) lstm_cell_forward(gates, c, h, tc, t, B, H);
  return undefined(env);
}

napi_value lstm_cell_backward_js(napi_env env, napi_callback_info info) {
  // (dG, dc, dh, gates, c, tc, t, B, H)
  Args a(env, info, "lstmCellBackward");
  const int t = a.count(6, "t"), B = a.count(7, "B"), H = a.count(8, "H");
  const i64 BH = static_cast<i64>(B) * H;
  float* dG = a.f32(0, "dG", (t + 1) * BH * 4);
  float* dc = a.f32(1, "dc", BH);
  const float* dh = a.f32(2, "dh", (t + 1) * BH);
  const float* gates = a.f32(3, "gates", (t + 1) * BH * 4);
  const float* c = a.f32(4, "c", (t + 1) * BH);
  const float* tc = a.f32(5, "tc", (t + 1) * BH);
  if (a.ok()) lstm_cell_backward(dG, dc, dh, gates, c, tc, t, B, H);
  return undefined(env);
}

// The operands of a GEMM call: (M, N, K, alpha, A, aOffset, B, bOffset, beta, C, cOffset) from argument
// `first` on, every buffer's length checked.
struct GemmCall {
  int M, N, K;
  float alpha, beta;
  const float* A;
  const float* B;
  float* C;
};

GemmCall gemm_call(Args& a, int first) {
  GemmCall g{};
  g.M = a.count(first, "M"), g.N = a.count(first + 1, "N"), g.K = a.count(first + 2, "K");
  g.alpha = static_cast<float>(a.number(first + 3, "alpha"));
  g.beta = static_cast<float>(a.number(first + 8, "beta"));
  const i64 ao = a.count(first + 5, "aOffset"), bo = a.count(first + 7, "bOffset"), co = a.count(first + 10, "cOffset");
  const float* A = a.f32(first + 4, "A", ao + static_cast<i64>(g.M) * g.K);
  const float* B = a.f32(first + 6, "B", bo + static_cast<i64>(g.K) * g.N);
  float* C = a.f32(first + 9, "C", co + static_cast<i64>(g.M) * g.N);
  if (a.ok()) g.A = A + ao, g.B = B + bo, g.C = C + co;
  return g;
}

napi_value gemm_rows_js(napi_env env, napi_callback_info info) {
  // (transB, M, N, K, alpha, A, aOffset, B, bOffset, beta, C, cOffset)
  Args a(env, info, "gemmRows");
  const bool trans_b = a.flag(0, "transB");
  const GemmCall g = gemm_call(a, 1);
  if (a.ok()) gemm_rows(trans_b, g.M, g.N, g.K, g.alpha, g.A, g.B, g.beta, g.C);
  return undefined(env);
}

napi_value gemm_blocked_js(napi_env env, napi_callback_info info) {
  // (transA, transB, M, N, K, alpha, A, aOffset, B, bOffset, beta, C, cOffset, epilogue, squares, squaresOffset)
  // epilogue: 0 none, 1 C = relu(C)^2, 2 C *= 2 sqrt(squares) (squares [M,N] from squaresOffset)
  Args a(env, info, "gemmBlocked");
  const bool trans_a = a.flag(0, "transA"), trans_b = a.flag(1, "transB");
  const GemmCall g = gemm_call(a, 2);
  GemmEpilogue then;
  const int kind = a.count(13, "epilogue");
  if (kind > GemmEpilogue::kReluSquareGrad) a.invalid("epilogue must be 0, 1 or 2");
  then.kind = static_cast<GemmEpilogue::Kind>(kind);
  if (then.kind == GemmEpilogue::kReluSquareGrad) {
    const i64 so = a.count(15, "squaresOffset");
    const float* squares = a.f32(14, "squares", so + static_cast<i64>(g.M) * g.N);
    if (a.ok()) then.squares = squares + so;
  }
  if (a.ok()) gemm_blocked(trans_a, trans_b, g.M, g.N, g.K, g.alpha, g.A, g.B, g.beta, g.C, then);
  return undefined(env);
}

napi_value packed_b_length_js(napi_env env, napi_callback_info info) {
  // (N, K) -> floats that pack_b writes
  Args a(env, info, "packedBLength");
  const int N = a.count(0, "N"), K = a.count(1, "K");
  napi_value result;
  napi_create_double(env, a.ok() ? static_cast<double>(packed_b_floats(N, K)) : 0, &result);
  return result;
}

napi_value pack_b_js(napi_env env, napi_callback_info info) {
  // (transB, N, K, B, bOffset, packed)
  Args a(env, info, "packB");
  const bool trans_b = a.flag(0, "transB");
  const int N = a.count(1, "N"), K = a.count(2, "K");
  const i64 bo = a.count(4, "bOffset");
  const float* B = a.f32(3, "B", bo + static_cast<i64>(K) * N);
  float* packed = a.f32(5, "packed", packed_b_floats(N, K));
  if (a.ok()) pack_b(trans_b, N, K, B + bo, packed);
  return undefined(env);
}

napi_value gemm_packed_js(napi_env env, napi_callback_info info) {
  // (M, N, K, alpha, A, aOffset, packed, beta, C, cOffset)
  Args a(env, info, "gemmPacked");
  const int M = a.count(0, "M"), N = a.count(1, "N"), K = a.count(2, "K");
  const float alpha = static_cast<float>(a.number(3, "alpha"));
  const float beta = static_cast<float>(a.number(7, "beta"));
  const i64 ao = a.count(5, "aOffset"), co = a.count(9, "cOffset");
  const float* A = a.f32(4, "A", ao + static_cast<i64>(M) * K);
  const float* packed = a.f32(6, "packed", packed_b_floats(N, K));
  float* C = a.f32(8, "C", co + static_cast<i64>(M) * N);
  if (a.ok()) gemm_packed(M, N, K, alpha, A + ao, packed, beta, C + co);
  return undefined(env);
}

napi_value fma_peak_js(napi_env env, napi_callback_info info) {
  // (vectorBits, iterations) -> GFLOP/s on every pool thread at once
  Args a(env, info, "fmaPeak");
  const int bits = a.count(0, "vectorBits");
  const i64 iterations = a.count(1, "iterations");
  napi_value result;
  napi_create_double(env, a.ok() ? fma_peak(bits, iterations) : 0, &result);
  return result;
}

napi_value set_threads_js(napi_env env, napi_callback_info info) {
  Args a(env, info, "setThreads");
  const int n = a.count(0, "threads");
  napi_value result;
  napi_create_int32(env, a.ok() ? pool_set_threads(n < 1 ? 1 : n) : pool_threads(), &result);
  return result;
}

napi_value threads_js(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_int32(env, pool_threads(), &result);
  return result;
}

RM_BASELINE napi_value init(napi_env env, napi_value exports) {
  if (const char* missing = missing_cpu_feature()) {
    const std::string msg = std::string("built for a CPU with ") + missing + ", which this one lacks";
    napi_throw_error(env, nullptr, msg.c_str());
    return nullptr;
  }
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  const Fn fns[] = {
      {"wkvForward", wkv_forward_js},
      {"wkvBackward", wkv_backward_js},
      {"wkv6Forward", wkv6_forward_js},
      {"wkv6Backward", wkv6_backward_js},
      {"tokenShiftMixForward", token_shift_mix_forward_js},
      {"tokenShiftMixBackward", token_shift_mix_backward_js},
      {"tokenShiftMixLnBackward", token_shift_mix_ln_backward_js},
      {"layerNormForward", layer_norm_forward_js},
      {"addLayerNormForward", add_layer_norm_forward_js},
      {"layerNormBackward", layer_norm_backward_js},
      {"relu", relu_js},
      {"reluBackward", relu_backward_js},
      {"sigmoidGate", sigmoid_gate_js},
      {"gatedProductBackward", gated_product_backward_js},
      {"adamwUpdate", adamw_update_js},
      {"averageInto", average_into_js},
      {"sumSquares", sum_squares_js},
      {"columnSums", column_sums_js},
      {"dropout", dropout_js},
      {"bceLossBackward", bce_loss_backward_js},
      {"scaleInPlace", scale_in_place_js},
      {"lstmCellForward", lstm_cell_forward_js},
      {"lstmCellBackward", lstm_cell_backward_js},
      {"gemmRows", gemm_rows_js},
      {"gemmBlocked", gemm_blocked_js},
      {"packedBLength", packed_b_length_js},
      {"packB", pack_b_js},
      {"gemmPacked", gemm_packed_js},
      {"fmaPeak", fma_peak_js},
      {"setThreads", set_threads_js},
      {"threads", threads_js},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  napi_value abi;
  napi_create_int32(env, kAbiVersion, &abi);
  napi_set_named_property(env, exports, "abiVersion", abi);
  // The blocked GEMM has register tiles for AVX-512 and for AVX2 with FMA (sgemm.cc), none otherwise.
#if defined(__AVX512F__)
  const int vector_bits = 512;
#elif defined(__AVX2__) && defined(__FMA__)
  const int vector_bits = 256;
#else
  const int vector_bits = 0;
#endif
  napi_value bits;
  napi_create_int32(env, vector_bits, &bits);
  napi_set_named_property(env, exports, "wideVectorBits", bits);
  return exports;
}

}  // namespace
}  // namespace rm

NAPI_MODULE(NODE_GYP_MODULE_NAME, rm::init)
