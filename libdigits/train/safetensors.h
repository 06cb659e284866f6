// safetensors files: weights that PyTorch and Hugging Face tooling read (DESIGN.md section 4).
//
// Layout: 8-byte little-endian header length N; N bytes of JSON
//   {"__metadata__": {"key": "value", ...},
//    "conv1.bias": {"dtype": "F32", "shape": [20], "data_offsets": [0, 80]}, ...}
// padded with spaces to a multiple of 8 bytes; then the tensors' raw little-endian bytes, back to
// back, in data_offsets order (relative to the end of the header). Written as the reference
// implementation writes it: tensors sorted by name, compact JSON, "__metadata__" first (omitted
// when empty), keys dtype, shape, data_offsets in that order.
//
// The reader treats the file as hostile: every length, offset and count is checked before it is
// used or allocated, and every problem is an Error(ExitCode::data) naming the file and the
// tensor. Memory used is bounded by the file's size (F16/BF16 tensors convert to twice their
// bytes).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace digits {

// Limits of the reader (the header limit is the reference implementation's).
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;
// The tensor limit is far above any network's (GoogLeNet with its solver history has ~700) and
// keeps the reader's bookkeeping (~400 bytes a tensor) within a few MiB.
constexpr size_t kSafetensorsMaxTensors = 16'384;
constexpr size_t kSafetensorsMaxDims = 16;
constexpr size_t kSafetensorsMaxMetadataEntries = 10'000;

struct SafetensorsTensor {
  Shape shape;
  std::vector<float> data;  // host floats, converted from the stored dtype
  std::string dtype;        // as stored: "F32", "F16", "BF16" or "F64"
};

struct SafetensorsFile {
  std::string path;
  std::vector<std::string> names;  // in data order
  std::map<std::string, SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;

  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
  // The tensor, or a data error naming the file, the missing tensor and the closest name.
  const SafetensorsTensor& tensor(const std::string& name) const;
};

// Writes the tensors' data (host copies, whatever their device) and the metadata. The file
// appears under `path` complete or not at all: written to a temporary name in the same
// directory, flushed to disk, then renamed. Names must be unique, non-empty and not
// "__metadata__" (a bug in the caller otherwise). I/O failures are runtime errors naming the path.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                      const std::map<std::string, std::string>& metadata);

// The same as bytes in memory (what save_safetensors writes).
std::string serialize_safetensors(
    const std::vector<std::pair<std::string, const Tensor*>>& tensors,
    const std::map<std::string, std::string>& metadata);

// Reads and checks the whole file. Accepts F32, and converts F16, BF16 and F64 to float.
SafetensorsFile load_safetensors(const std::string& path);
// The same checks, without reading the tensors' data (their `data` stays empty): names, shapes,
// dtypes and metadata, at the cost of reading the header only.
SafetensorsFile load_safetensors_header(const std::string& path);

}  // namespace digits
