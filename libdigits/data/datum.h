// Caffe's Datum and BlobProto messages, read and written with our own protobuf wire-format
// codec (no protobuf library). Field numbers are those of Caffe's caffe.proto, so records and
// mean files are interchangeable with Caffe and NVIDIA DIGITS:
//
//   message Datum {            // one LMDB record
//     optional int32 channels = 1; optional int32 height = 2; optional int32 width = 3;
//     optional bytes data = 4;     // raw: uint8 (C, H, W), colour in BGR order;
//                                  // encoded: the PNG or JPEG file bytes
//     optional int32 label = 5;
//     repeated float float_data = 6;  // accepted packed or not; written unpacked (proto2)
//     optional bool encoded = 7 [default = false];
//   }
//   message BlobShape { repeated int64 dim = 1 [packed = true]; }
//   message BlobProto {        // mean.binaryproto
//     optional BlobShape shape = 7;
//     repeated float data = 5 [packed = true]; repeated float diff = 6 [packed = true];
//     repeated double double_data = 8 [packed = true]; repeated double double_diff = 9 [...];
//     optional int32 num = 1; optional int32 channels = 2; optional int32 height = 3;
//     optional int32 width = 4;
//   }
//
// Parsing is bounds-checked for hostile input: a varint longer than 10 bytes, a length past
// the end, a wire type that does not match the field, a packed array whose length is not a
// multiple of the element size, group wire types: all are Error(data) naming `what` (the file or
// record) and the byte offset. Unknown fields with valid wire types are skipped, as protobuf does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace digits {

struct Datum {
  int32_t channels = 0, height = 0, width = 0;
  std::string data;  // raw (C, H, W) uint8 BGR, or encoded image file bytes
  int32_t label = 0;
  std::vector<float> float_data;
  bool encoded = false;
};

// Appends the serialized message to `out`. Fields in field-number order, as protobuf does;
// channels/height/width/label are always written (DIGITS sets them), data when non-empty,
// float_data element by element, encoded only when true.
void serialize_datum(const Datum& datum, std::string& out);
std::string serialize_datum(const Datum& datum);

// Serializes `fields` (its data member ignored) with a data field of data_size bytes left for
// the caller to fill in place at *data: a raw record is built with no copy of its pixels.
std::string serialize_datum_reserving(const Datum& fields, size_t data_size, char** data);

// Parses one Datum; `what` names the record in error messages ("train_db record 00000012_3").
Datum parse_datum(std::string_view bytes, std::string_view what);

// Checks the parsed Datum against what a classification record must be: channels, height and
// width positive and each at most `max_side` (channels at most 4), and for raw records
// data.size() == channels * height * width. Error(data) naming `what` otherwise.
void check_datum_shape(const Datum& datum, std::string_view what, int64_t max_side = 1 << 20);

struct BlobProto {
  int32_t num = 0, channels = 0, height = 0, width = 0;
  std::vector<int64_t> shape;  // BlobShape.dim; empty when the message has no shape
  std::vector<float> data;     // double_data, if that is what the file holds, converted
  std::vector<float> diff;
};

// num/channels/height/width always written, then data and diff packed (empty ones omitted),
// then shape when non-empty.
std::string serialize_blob_proto(const BlobProto& blob);
BlobProto parse_blob_proto(std::string_view bytes, std::string_view what);

}  // namespace digits
