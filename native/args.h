// Reading a native function's JavaScript arguments with checks: typed-array kind and minimum length
// (so that a wrong call throws a JavaScript error instead of reading out of bounds), numbers, flags.
// After the first failed check a TypeError/RangeError is pending and every getter returns a dummy.
#pragma once
#include <node_api.h>

#include <cstdint>
#include <string>

namespace rm {

class Args {
 public:
  static constexpr size_t kMax = 24;

  Args(napi_env env, napi_callback_info info, const char* fn) : env_(env), fn_(fn) {
    argc_ = kMax;
    if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr) != napi_ok) fail("cannot read the arguments");
  }

  bool ok() const { return ok_; }

  // A Float32Array with at least min_len elements; null/undefined gives nullptr when nullable.
  float* f32(size_t i, const char* name, int64_t min_len, bool nullable = false) {
    return static_cast<float*>(array(i, name, min_len, nullable, napi_float32_array, "Float32Array"));
  }
  double* f64(size_t i, const char* name, int64_t min_len, bool nullable = false) {
    return static_cast<double*>(array(i, name, min_len, nullable, napi_float64_array, "Float64Array"));
  }

  // The element count of a typed array (0 after a failed check).
  int64_t length(size_t i, const char* name) {
    size_t length = 0;
    bool is_typed = false;
    if (!ok_) return 0;
    if (i < argc_) napi_is_typedarray(env_, argv_[i], &is_typed);
    if (!is_typed || napi_get_typedarray_info(env_, argv_[i], nullptr, &length, nullptr, nullptr, nullptr) != napi_ok) {
      fail(std::string(name) + " must be a typed array");
    }
    return static_cast<int64_t>(length);
  }

  double number(size_t i, const char* name) {
    double x = 0;
    if (!ok_) return 0;
    if (i >= argc_ || napi_get_value_double(env_, argv_[i], &x) != napi_ok) fail(std::string(name) + " must be a number");
    return x;
  }

  // A non-negative integer below 2^31.
  int count(size_t i, const char* name) {
    const double x = number(i, name);
    if (ok_ && !(x >= 0 && x < 2147483648.0 && x == static_cast<double>(static_cast<int64_t>(x)))) {
      fail(std::string(name) + " must be a non-negative integer");
    }
    return ok_ ? static_cast<int>(x) : 0;
  }

  bool flag(size_t i, const char* name) {
    bool b = false;
    if (!ok_) return false;
    if (i >= argc_ || napi_get_value_bool(env_, argv_[i], &b) != napi_ok) fail(std::string(name) + " must be a boolean");
    return b;
  }

  // Fails the call with a RangeError (for shape checks beyond array lengths).
  void invalid(const std::string& what) { fail(what, true); }

  bool is_null(size_t i) {
    if (i >= argc_) return true;
    napi_valuetype t;
    return napi_typeof(env_, argv_[i], &t) == napi_ok && (t == napi_null || t == napi_undefined);
  }

 private:
  void* array(size_t i, const char* name, int64_t min_len, bool nullable, napi_typedarray_type want, const char* kind) {
    if (!ok_) return nullptr;
    if (is_null(i)) {
      if (!nullable) fail(std::string(name) + " must be a " + kind);
      return nullptr;
    }
    bool is_typed = false;
    napi_is_typedarray(env_, argv_[i], &is_typed);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (!is_typed || napi_get_typedarray_info(env_, argv_[i], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != want) {
      fail(std::string(name) + " must be a " + kind);
      return nullptr;
    }
    if (static_cast<int64_t>(length) < min_len) {
      fail(std::string(name) + " has " + std::to_string(length) + " elements, needs " + std::to_string(min_len), true);
      return nullptr;
    }
    // an empty array may have no buffer at all; hand out a valid pointer that is never read
    static float empty;
    return data != nullptr ? data : &empty;
  }

  void fail(const std::string& what, bool range = false) {
    if (!ok_) return;
    ok_ = false;
    const std::string msg = std::string(fn_) + ": " + what;
    if (range) napi_throw_range_error(env_, nullptr, msg.c_str());
    else napi_throw_type_error(env_, nullptr, msg.c_str());
  }

  napi_env env_;
  const char* fn_;
  size_t argc_;
  napi_value argv_[kMax];
  bool ok_ = true;
};

}  // namespace rm
