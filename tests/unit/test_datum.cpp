// Datum / BlobProto wire-format codec against hand-built protobuf bytes (what Caffe's
// caffe_pb2 would produce for the same message), round trips, and hostile input.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/datum.h"

using namespace digits;

namespace {
std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

ExitCode error_code_of(const std::string& input) {
  try {
    parse_datum(input, "test record");
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

std::string error_text_of(const std::string& input) {
  try {
    parse_datum(input, "test record");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("datum: raw record serializes to the bytes Caffe writes") {
  Datum d;
  d.channels = 3;
  d.height = 2;
  d.width = 1;
  d.data = bytes({1, 2, 3, 4, 5, 6});
  d.label = 7;
  // field 1..3 varints, field 4 length-delimited, field 5 varint; no `encoded` when false.
  std::string expected = bytes({0x08, 3, 0x10, 2, 0x18, 1, 0x22, 6, 1, 2, 3, 4, 5, 6, 0x28, 7});
  CHECK(serialize_datum(d) == expected);

  Datum back = parse_datum(expected, "x");
  CHECK(back.channels == 3);
  CHECK(back.height == 2);
  CHECK(back.width == 1);
  CHECK(back.data == d.data);
  CHECK(back.label == 7);
  CHECK_FALSE(back.encoded);
  CHECK(back.float_data.empty());
  check_datum_shape(back, "x");
}

TEST_CASE("datum: encoded record, label 0, negative int32, long data length") {
  Datum d;
  d.channels = 1;
  d.height = 28;
  d.width = 28;
  d.data = std::string(300, '\x89');  // length 300 = varint ac 02
  d.label = 0;
  d.encoded = true;
  std::string s = serialize_datum(d);
  std::string head = bytes({0x08, 1, 0x10, 28, 0x18, 28, 0x22, 0xac, 0x02});
  CHECK(s.substr(0, head.size()) == head);
  CHECK(s.substr(head.size() + 300) == bytes({0x28, 0, 0x38, 1}));
  Datum back = parse_datum(s, "x");
  CHECK(back.encoded);
  CHECK(back.data.size() == 300);
  CHECK(back.label == 0);

  // int32 -1 is a 10-byte sign-extended varint.
  std::string negative = bytes({0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  Datum n;
  n.label = -1;
  std::string ser = serialize_datum(n);
  CHECK(ser.find(negative) != std::string::npos);
  CHECK(parse_datum(negative, "x").label == -1);
}

TEST_CASE("datum: float_data packed and unpacked, unknown fields skipped, order free") {
  float one = 1.0f, two = 2.0f;
  uint32_t b1, b2;
  std::memcpy(&b1, &one, 4);
  std::memcpy(&b2, &two, 4);
  auto le = [](uint32_t v) { return bytes({int(v & 0xff), int((v >> 8) & 0xff), int((v >> 16) & 0xff), int(v >> 24)}); };
  // Unpacked: tag (6 << 3) | 5 = 0x35 per element.
  std::string unpacked = bytes({0x35}) + le(b1) + bytes({0x35}) + le(b2);
  // Packed: tag (6 << 3) | 2 = 0x32, length 8.
  std::string packed = bytes({0x32, 8}) + le(b1) + le(b2);
  CHECK(parse_datum(unpacked, "x").float_data == std::vector<float>{1.0f, 2.0f});
  CHECK(parse_datum(packed, "x").float_data == std::vector<float>{1.0f, 2.0f});
  Datum f;
  f.float_data = {1.0f, 2.0f};
  CHECK(serialize_datum(f).find(unpacked) != std::string::npos);

  // Field 9 (unknown, varint), field 12 (unknown, fixed64), then label before channels.
  std::string odd = bytes({0x48, 0x05, 0x61, 0, 0, 0, 0, 0, 0, 0, 0, 0x28, 4, 0x08, 3});
  Datum back = parse_datum(odd, "x");
  CHECK(back.label == 4);
  CHECK(back.channels == 3);
  CHECK(parse_datum("", "x").channels == 0);  // empty message: all defaults
}

TEST_CASE("datum: hostile input is Error(data) naming the record and the offset") {
  // Varint overflowing 64 bits (10th byte > 1).
  CHECK(error_code_of(bytes({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})) == ExitCode::data);
  // Varint longer than 10 bytes.
  CHECK(error_code_of(bytes({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})) == ExitCode::data);
  // Truncated varint.
  CHECK(error_code_of(bytes({0x08})) == ExitCode::data);
  CHECK(error_code_of(bytes({0x08, 0x80})) == ExitCode::data);
  // Length past the end.
  std::string past = error_text_of(bytes({0x22, 0x10, 1, 2}));
  CHECK(past.find("test record") != std::string::npos);
  CHECK(past.find("byte 1") != std::string::npos);
  CHECK(past.find("runs past the end") != std::string::npos);
  // Huge length (2^63) past the end, no allocation.
  CHECK(error_code_of(bytes({0x22, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})) == ExitCode::data);
  // Wrong wire type for a known field: channels as length-delimited, data as varint.
  CHECK(error_text_of(bytes({0x0a, 0x01, 0x00})).find("wire type 2, expected 0") != std::string::npos);
  CHECK(error_code_of(bytes({0x20, 0x01})) == ExitCode::data);
  // encoded as fixed32.
  CHECK(error_code_of(bytes({0x3d, 0, 0, 0, 0})) == ExitCode::data);
  // Groups and invalid wire types.
  CHECK(error_code_of(bytes({0x0b})) == ExitCode::data);
  CHECK(error_code_of(bytes({0x0c})) == ExitCode::data);
  CHECK(error_code_of(bytes({0x0e, 0})) == ExitCode::data);
  // Field number 0.
  CHECK(error_code_of(bytes({0x00, 0x00})) == ExitCode::data);
  // Packed float length not a multiple of 4; truncated fixed32.
  CHECK(error_code_of(bytes({0x32, 3, 0, 0, 0})) == ExitCode::data);
  CHECK(error_code_of(bytes({0x35, 0, 0})) == ExitCode::data);
  // Unknown field with a length past the end.
  CHECK(error_code_of(bytes({0x52, 0x05, 1})) == ExitCode::data);
}

TEST_CASE("datum: shape checks") {
  Datum d;
  d.channels = 3;
  d.height = 2;
  d.width = 2;
  d.data = std::string(11, 'x');
  CHECK_THROWS_AS(check_datum_shape(d, "r"), Error);
  d.data = std::string(12, 'x');
  check_datum_shape(d, "r");
  d.channels = 0;
  CHECK_THROWS_AS(check_datum_shape(d, "r"), Error);
  d.channels = 3;
  d.height = -5;
  CHECK_THROWS_AS(check_datum_shape(d, "r"), Error);
  d.height = 2;
  d.encoded = true;
  d.data.clear();
  CHECK_THROWS_AS(check_datum_shape(d, "r"), Error);
  d.data = "png bytes";
  check_datum_shape(d, "r");  // encoded data length is not tied to the shape
}

TEST_CASE("blob proto: mean file bytes as DIGITS writes them, and shape") {
  BlobProto blob;
  blob.num = 1;
  blob.channels = 3;
  blob.height = 1;
  blob.width = 1;
  blob.data = {1.0f, 2.0f, 0.5f};
  // 1.0f = 00 00 80 3f, 2.0f = 00 00 00 40, 0.5f = 00 00 00 3f
  std::string expected = bytes({0x08, 1, 0x10, 3, 0x18, 1, 0x20, 1, 0x2a, 12, 0, 0, 0x80, 0x3f, 0, 0, 0,
                                0x40, 0, 0, 0, 0x3f});
  CHECK(serialize_blob_proto(blob) == expected);
  BlobProto back = parse_blob_proto(expected, "mean.binaryproto");
  CHECK(back.num == 1);
  CHECK(back.channels == 3);
  CHECK(back.data == blob.data);
  CHECK(back.shape.empty());

  // BlobShape (field 7) with packed dims 1, 3, 300 (300 = ac 02).
  blob.shape = {1, 3, 300};
  blob.data = {};
  std::string with_shape = serialize_blob_proto(blob);
  CHECK(with_shape.substr(8) == bytes({0x3a, 6, 0x0a, 4, 1, 3, 0xac, 0x02}));
  CHECK(parse_blob_proto(with_shape, "m").shape == std::vector<int64_t>{1, 3, 300});
  // Unpacked dims are accepted too.
  CHECK(parse_blob_proto(bytes({0x3a, 4, 0x08, 2, 0x08, 5}), "m").shape == std::vector<int64_t>{2, 5});
  // double_data (field 8, packed) becomes data.
  std::string dbl = bytes({0x42, 8, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f});  // 1.0
  CHECK(parse_blob_proto(dbl, "m").data == std::vector<float>{1.0f});
  // Hostile: dims run past the end of the shape message; data length not a multiple of 4.
  CHECK_THROWS_AS(parse_blob_proto(bytes({0x3a, 3, 0x0a, 4, 1}), "m"), Error);
  CHECK_THROWS_AS(parse_blob_proto(bytes({0x2a, 5, 0, 0, 0, 0, 0}), "m"), Error);
}

TEST_CASE("datum: serialize_datum_reserving gives the same bytes as serialize_datum") {
  Datum d;
  d.channels = 3;
  d.height = 20;
  d.width = 10;
  d.label = 9;
  d.data = std::string(600, '\x07');
  for (bool encoded : {false, true}) {
    d.encoded = encoded;
    char* data = nullptr;
    std::string reserved = serialize_datum_reserving(d, d.data.size(), &data);
    std::memcpy(data, d.data.data(), d.data.size());
    CHECK(reserved == serialize_datum(d));
  }
}
