// safetensors: the reference implementation's exact bytes, exact round trips, and a clear data
// error for every kind of corrupt or hostile file.
#include <doctest/doctest.h>

#include <filesystem>

#include <dirent.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "train/safetensors.h"

using namespace digits;

namespace {

// A scratch directory removed (with its files) at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    pattern += "/digits-test-safetensors-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    for (const std::string& name : files()) ::unlink((path + "/" + name).c_str());
    ::rmdir(path.c_str());
  }
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(path.c_str())) {
      while (dirent* entry = ::readdir(dir))
        if (std::strcmp(entry->d_name, ".") && std::strcmp(entry->d_name, ".."))
          names.push_back(entry->d_name);
      ::closedir(dir);
    }
    return names;
  }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string from_byte_list(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// A file from a header text and raw data, with the length prefix.
std::string make_file(const std::string& header, const std::string& data) {
  uint64_t n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), 4);
  return out;
}

// Loads `bytes` from a file and returns the data error's message ("no error" if it loaded).
// (A fresh name each time: rewriting a file in place makes ext4 flush it, 100x slower.)
std::string load_error(const TempDir& dir, const std::string& bytes) {
  static int counter = 0;
  std::string path = dir.path + "/bad" + std::to_string(counter++) + ".safetensors";
  write_bytes(path, bytes);
  std::string message = "no error";
  try {
    load_safetensors(path);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::data);
    message = e.what();
    CHECK(message.find(path) == 0);  // names the file
  }
  ::unlink(path.c_str());
  return message;
}

Tensor tensor_of(Shape shape, std::vector<float> values) {
  Tensor t(std::move(shape));
  t.set_data(values);
  return t;
}

}  // namespace

TEST_CASE("writes the bytes the reference implementation writes") {
  // From huggingface/safetensors tensor.rs tests: one F32 tensor [1, 2, 3] = 0..5 named
  // "attn.0" gives a 64-byte header needing no padding...
  Tensor attn = tensor_of({1, 2, 3}, {0, 1, 2, 3, 4, 5});
  CHECK(serialize_safetensors({{"attn.0", &attn}}, {}) ==
        from_byte_list({64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123,
                        34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104,
                        97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97,
                        95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125,
                        125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0,
                        0, 160, 64}));
  // ...and [1, 1, 2, 3] named "attn0" gives 65 bytes padded with 7 spaces to 72.
  Tensor attn0 = tensor_of({1, 1, 2, 3}, {0, 1, 2, 3, 4, 5});
  CHECK(serialize_safetensors({{"attn0", &attn0}}, {}) ==
        from_byte_list({72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34,
                        100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97,
                        112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116,
                        97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93,
                        125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0,
                        64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64}));
  // Metadata only: {"__metadata__":{"framework":"pt"}} plus 5 spaces.
  CHECK(serialize_safetensors({}, {{"framework", "pt"}}) ==
        from_byte_list({40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116,
                        97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34,
                        58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32}));
  // Nothing at all: "{}" and 6 spaces.
  CHECK(serialize_safetensors({}, {}) == from_byte_list({8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32,
                                                         32, 32, 32, 32, 32}));
}

TEST_CASE("save then load is exact, sorted by name, metadata kept, no temporary left") {
  TempDir dir;
  std::string path = dir.path + "/epoch_1.safetensors";
  // Values that a text or rounding round trip would not keep: -0, denormals, inf, nan payloads.
  float nan_payload;
  uint32_t nan_bits = 0x7fc12345u;
  std::memcpy(&nan_payload, &nan_bits, 4);
  Tensor weight = tensor_of({2, 3}, {-0.0f, 1e-45f, std::numeric_limits<float>::infinity(),
                                     nan_payload, 3.14159274f, -1.17549435e-38f});
  Tensor bias = tensor_of({2}, {0.5f, -0.25f});
  Tensor scalar = tensor_of({}, {42.0f});
  Tensor empty = tensor_of({0, 4}, {});
  save_safetensors(path,
                   {{"conv1.weight", &weight}, {"conv1.bias", &bias}, {"a.scalar", &scalar},
                    {"z.empty", &empty}},
                   {{"format", "pt"}, {"digits.note", "ünïcode \"quoted\""}});
  CHECK(dir.files() == std::vector<std::string>({"epoch_1.safetensors"}));

  SafetensorsFile file = load_safetensors(path);
  CHECK(file.names ==
        std::vector<std::string>({"a.scalar", "conv1.bias", "conv1.weight", "z.empty"}));
  CHECK(file.metadata.at("format") == "pt");
  CHECK(file.metadata.at("digits.note") == "ünïcode \"quoted\"");
  const SafetensorsTensor& w = file.tensor("conv1.weight");
  CHECK(w.shape == Shape({2, 3}));
  CHECK(w.dtype == "F32");
  std::vector<float> original = weight.host_data();
  REQUIRE(w.data.size() == original.size());
  CHECK(std::memcmp(w.data.data(), original.data(), original.size() * 4) == 0);
  CHECK(file.tensor("a.scalar").shape == Shape({}));
  CHECK(file.tensor("a.scalar").data == std::vector<float>({42.0f}));
  CHECK(file.tensor("z.empty").shape == Shape({0, 4}));
  CHECK(file.tensor("z.empty").data.empty());

  // Asking for a tensor that is not there names it and suggests the closest.
  try {
    file.tensor("conv1.weights");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::data);
    CHECK(std::string(e.what()) == path + ": no tensor named 'conv1.weights' (did you mean "
                                          "'conv1.weight'?) (4 tensors in the file)");
  }

  // Saving again replaces the file whole.
  save_safetensors(path, {{"only", &bias}}, {});
  CHECK(load_safetensors(path).names == std::vector<std::string>({"only"}));
  CHECK(dir.files() == std::vector<std::string>({"epoch_1.safetensors"}));
}

TEST_CASE("a failed save leaves nothing under the final name") {
  TempDir dir;
  Tensor bias = tensor_of({2}, {0.5f, -0.25f});
  std::string path = dir.path + "/missing-dir/epoch_1.safetensors";
  try {
    save_safetensors(path, {{"b", &bias}}, {});
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::runtime);
    CHECK(std::string(e.what()).find(path) == 0);
  }
  CHECK(dir.files().empty());
}

TEST_CASE("reads F16, BF16 and F64 by converting to float") {
  TempDir dir;
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001.
  // BF16: 1.0 = 0x3f80, -0.5 = 0xbf00. F64: 0.1 (rounds to the float nearest 0.1).
  std::string f16 = from_byte_list({0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00});
  std::string bf16 = from_byte_list({0x80, 0x3f, 0x00, 0xbf});
  double tenth = 0.1;
  std::string f64(reinterpret_cast<const char*>(&tenth), 8);
  std::string header =
      R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
      R"("d":{"dtype":"F64","shape":[1],"data_offsets":[12,20]}})";
  std::string path = dir.path + "/mixed.safetensors";
  write_bytes(path, make_file(header, f16 + bf16 + f64));
  SafetensorsFile file = load_safetensors(path);
  CHECK(file.names == std::vector<std::string>({"h", "b", "d"}));
  CHECK(file.tensor("h").data == std::vector<float>({1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)}));
  CHECK(file.tensor("h").dtype == "F16");
  CHECK(file.tensor("b").data == std::vector<float>({1.0f, -0.5f}));
  CHECK(file.tensor("d").data == std::vector<float>({0.1f}));
}

TEST_CASE("every truncation of a valid file is a clear data error") {
  TempDir dir;
  Tensor a = tensor_of({2, 2}, {1, 2, 3, 4});
  Tensor b = tensor_of({3}, {5, 6, 7});
  std::string bytes = serialize_safetensors({{"a", &a}, {"b", &b}}, {{"k", "v"}});
  for (size_t length = 0; length < bytes.size(); ++length) {
    CAPTURE(length);
    std::string message = load_error(dir, bytes.substr(0, length));
    CHECK(message != "no error");
  }
  // Spot-check the wording at the interesting cut points.
  CHECK(load_error(dir, bytes.substr(0, 5)).find("too short for the 8-byte header length") !=
        std::string::npos);
  CHECK(load_error(dir, bytes.substr(0, 20)).find("runs past the end of the file") !=
        std::string::npos);
  CHECK(load_error(dir, bytes.substr(0, bytes.size() - 4))
            .find("tensor 'b': data_offsets [16, 28] run past the end of the data (24 bytes") !=
        std::string::npos);
}

TEST_CASE("flipped bytes load or fail with a data error, never anything worse") {
  TempDir dir;
  Tensor a = tensor_of({2, 2}, {1, 2, 3, 4});
  Tensor b = tensor_of({3}, {5, 6, 7});
  std::string bytes = serialize_safetensors({{"a", &a}, {"b", &b}}, {{"k", "v"}});
  uint64_t header_length;
  std::memcpy(&header_length, bytes.data(), 8);
  int failures = 0;
  for (size_t i = 0; i < 8 + header_length; ++i) {
    for (unsigned char replacement : {'\x00', '\x01', '\xff', '{', '"', '9', ']'}) {
      std::string corrupt = bytes;
      if (corrupt[i] == static_cast<char>(replacement)) continue;
      corrupt[i] = static_cast<char>(replacement);
      CAPTURE(i);
      if (load_error(dir, corrupt) != "no error") ++failures;
    }
  }
  CHECK(failures > 100);  // nearly every flip is caught
}

TEST_CASE("hostile headers: each problem named") {
  TempDir dir;
  const std::string f32x2 = floats({1, 2});
  auto error = [&](const std::string& header, const std::string& data) {
    return load_error(dir, make_file(header, data));
  };
  auto contains = [](const std::string& message, const std::string& part) {
    INFO(message);
    CHECK(message.find(part) != std::string::npos);
  };

  // Control: the well-formed version loads.
  CHECK(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x2) == "no error");

  // Absurd header length: refused before allocating.
  std::string huge(8, '\0');
  uint64_t n = uint64_t(1) << 40;
  std::memcpy(huge.data(), &n, 8);
  contains(load_error(dir, huge + "{}"), "exceeds the 100000000-byte limit");
  n = std::numeric_limits<uint64_t>::max();
  std::memcpy(huge.data(), &n, 8);
  contains(load_error(dir, huge + "{}"), "exceeds the 100000000-byte limit");

  contains(error("not json at all", ""), "does not start with '{'");
  contains(error("{\"t\": {\"dtype\": }", ""), "not valid JSON");
  contains(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} trailing)", f32x2),
           "not valid JSON");
  contains(error(R"({"t":5})", ""), "tensor 't': expected an object with dtype, shape and data_offsets");
  contains(error(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", f32x2), "tensor 't': missing \"dtype\"");
  contains(error(R"({"t":{"dtype":"F32","data_offsets":[0,8]}})", f32x2), "tensor 't': missing \"shape\"");
  contains(error(R"({"t":{"dtype":"F32","shape":[2]}})", f32x2), "tensor 't': missing \"data_offsets\"");
  contains(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", f32x2),
           "tensor 't': unknown field \"extra\"");
  contains(error(R"({"t":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x2),
           "tensor 't': field \"dtype\" appears twice");
  contains(error(R"({"t":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", f32x2),
           "tensor 't': \"dtype\" has the wrong type");
  contains(error(R"({"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", f32x2),
           "tensor 't': unsupported dtype \"I64\" (supported: F32, F16, BF16, F64)");
  contains(error(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2),
           "tensor 't': shape: expected non-negative integers, got -2");
  contains(error(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", f32x2),
           "tensor 't': shape: expected non-negative integers");
  contains(error(R"({"t":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})",
                 floats({1})),
           "shape has more than 16 dimensions");
  contains(error(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", f32x2),
           "tensor 't': shape [4294967296,4294967296,4294967296] has more elements than can exist");
  // No element at all, but the running product of the others overflows an int64 (found by
  // fuzzing: it was undefined behaviour in shape_count).
  contains(error(R"({"t":{"dtype":"F32","shape":[4294967296,4294964592,0],"data_offsets":[0,0]}})", ""),
           "tensor 't': shape [4294967296,4294964592,0] has more elements than can exist");
  contains(error(R"({"t":{"dtype":"F32","shape":[1000000000000],"data_offsets":[0,8]}})", f32x2),
           "needs more bytes than the file's 8 bytes of data");
  contains(error(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", floats({1, 2, 3, 4})),
           "tensor 't': shape [3] of F32 is 12 bytes, but data_offsets [0, 8] span 8");
  contains(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", f32x2),
           "data_offsets must be [begin, end]");
  contains(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", f32x2),
           "end before they begin");
  contains(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", f32x2),
           "tensor 't': data_offsets [8, 16] run past the end of the data (8 bytes");
  contains(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", f32x2),
           "run past the end of the data");
  contains(error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 f32x2),
           "overlap tensor");
  contains(error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32x2),
           "tensor 't': data_offsets [4, 8] leave a gap of 4 bytes before it");
  contains(error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f32x2),
           "4 bytes of data after the last tensor");
  contains(error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 f32x2),
           "tensor 't' appears twice in the header");
  contains(error(R"({"__metadata__":{"k":1},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x2),
           "metadata \"k\": values must be strings");
  contains(error(R"({"__metadata__":{"k":"a","k":"b"}})", ""), "metadata key \"k\" appears twice");
  contains(error(R"({"__metadata__":"x"})", ""), "\"__metadata__\" must be an object of strings");
  contains(error("{\"t\":{\"dtype\":\"F\xff\"}}", ""), "not valid JSON");
  contains(error(R"({"t":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", f32x2),
           "shape: expected non-negative integers, got a list");

  // Too many tensors: refused once the count passes the limit, while parsing.
  std::string many = "{";
  for (size_t i = 0; i <= kSafetensorsMaxTensors; ++i)
    many += fmt::format("{}\"t{}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}",
                        i ? "," : "", i);
  many += "}";
  contains(error(many, ""), "more than 16384 tensors");

  // Not a file of ours at all, and a missing file (a usage error: the path is wrong).
  contains(load_error(dir, "PK\x03\x04 this is a zip file, not weights"),
           "header length");
  try {
    load_safetensors(dir.path + "/nope.safetensors");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()) == dir.path + "/nope.safetensors: no such file");
  }
}

TEST_CASE("safetensors: header-only load gives names, shapes and metadata without data") {
  std::string path = (std::filesystem::temp_directory_path() / "digits_header_only.safetensors").string();
  digits::Tensor t({2, 3});
  t.set_data({1, 2, 3, 4, 5, 6});
  digits::save_safetensors(path, {{"ip.weight", &t}}, {{"epoch", "3"}});
  digits::SafetensorsFile header = digits::load_safetensors_header(path);
  CHECK(header.names == std::vector<std::string>{"ip.weight"});
  CHECK(header.tensors.at("ip.weight").shape == digits::Shape{2, 3});
  CHECK(header.tensors.at("ip.weight").data.empty());
  CHECK(header.metadata.at("epoch") == "3");
  std::filesystem::remove(path);
}
