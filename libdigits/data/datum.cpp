#include "data/datum.h"

#include <cstring>

#include "core/error.h"

namespace digits {
namespace {

enum WireType : uint32_t { wire_varint = 0, wire_fixed64 = 1, wire_bytes = 2, wire_fixed32 = 5 };

// ---- writing ----

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_tag(std::string& out, uint32_t field, WireType type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | type);
}

// int32 fields: negative values are sign-extended to 64 bits (10 bytes), as protobuf does.
void put_int32_field(std::string& out, uint32_t field, int32_t value) {
  put_tag(out, field, wire_varint);
  put_varint(out, static_cast<uint64_t>(static_cast<int64_t>(value)));
}

void put_bytes_field(std::string& out, uint32_t field, const void* bytes, size_t size) {
  put_tag(out, field, wire_bytes);
  put_varint(out, size);
  out.append(static_cast<const char*>(bytes), size);
}

void put_fixed32(std::string& out, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void put_packed_floats(std::string& out, uint32_t field, const std::vector<float>& values) {
  if (values.empty()) return;
  put_tag(out, field, wire_bytes);
  put_varint(out, values.size() * 4);
  for (float v : values) put_fixed32(out, v);
}

// ---- reading ----

// A cursor over untrusted bytes; every read checks the end first.
class WireReader {
 public:
  WireReader(std::string_view bytes, std::string_view what, size_t base_offset = 0)
      : bytes_(bytes), what_(what), base_(base_offset) {}

  bool done() const { return pos_ >= bytes_.size(); }
  size_t offset() const { return base_ + pos_; }

  uint64_t varint() {
    uint64_t value = 0;
    size_t start = pos_;
    for (int i = 0; i < 10; ++i) {
      if (pos_ >= bytes_.size()) bad(start, "varint runs past the end");
      uint8_t byte = static_cast<uint8_t>(bytes_[pos_++]);
      // The 10th byte may only contribute bit 63.
      if (i == 9 && byte > 1) bad(start, "varint overflows 64 bits");
      value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if (!(byte & 0x80)) return value;
    }
    bad(start, "varint longer than 10 bytes");
  }

  // Returns (field number, wire type); rejects field 0, groups and undefined wire types.
  std::pair<uint32_t, uint32_t> tag() {
    size_t start = pos_;
    uint64_t key = varint();
    uint64_t field = key >> 3;
    uint32_t type = static_cast<uint32_t>(key & 7);
    if (field == 0 || field > 0x1fffffff) bad(start, fmt::format("invalid field number {}", field));
    if (type == 3 || type == 4) bad(start, fmt::format("field {}: group wire type {} not supported", field, type));
    if (type != wire_varint && type != wire_fixed64 && type != wire_bytes && type != wire_fixed32)
      bad(start, fmt::format("field {}: invalid wire type {}", field, type));
    return {static_cast<uint32_t>(field), type};
  }

  std::string_view length_delimited_bytes() {
    size_t start = pos_;
    uint64_t length = varint();
    if (length > bytes_.size() - pos_)
      bad(start, fmt::format("length {} runs past the end ({} bytes left)", length, bytes_.size() - pos_));
    std::string_view result = bytes_.substr(pos_, static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return result;
  }

  uint32_t fixed32_value() {
    if (bytes_.size() - pos_ < 4) bad(pos_, "fixed32 runs past the end");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return v;
  }

  uint64_t fixed64_value() {
    if (bytes_.size() - pos_ < 8) bad(pos_, "fixed64 runs past the end");
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }

  void skip(uint32_t type) {
    switch (type) {
      case wire_varint: varint(); break;
      case wire_fixed64: fixed64_value(); break;
      case wire_bytes: length_delimited_bytes(); break;
      case wire_fixed32: fixed32_value(); break;
      default: bad(pos_, fmt::format("invalid wire type {}", type));
    }
  }

  void expect(uint32_t field, uint32_t type, uint32_t expected, const char* field_name) {
    if (type != expected)
      bad(pos_, fmt::format("field {} ({}) has wire type {}, expected {}", field, field_name, type, expected));
  }

  [[noreturn]] void bad(size_t at, const std::string& why) const {
    fail_data("{}: malformed protobuf at byte {}: {}", what_, base_ + at, why);
  }

 private:
  std::string_view bytes_;
  std::string_view what_;
  size_t base_;
  size_t pos_ = 0;
};

float float_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Repeated float: either one fixed32 element (unpacked) or a packed run.
void read_repeated_float(WireReader& in, uint32_t field, uint32_t type, std::vector<float>& out,
                         std::string_view what) {
  if (type == wire_fixed32) {
    out.push_back(float_from_bits(in.fixed32_value()));
    return;
  }
  in.expect(field, type, wire_bytes, "repeated float");
  size_t start = in.offset();
  std::string_view packed = in.length_delimited_bytes();
  if (packed.size() % 4 != 0)
    fail_data("{}: malformed protobuf at byte {}: field {}: packed float length {} is not a multiple of 4",
              what, start, field, packed.size());
  size_t n = packed.size() / 4;
  size_t base = out.size();
  out.resize(base + n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(static_cast<uint8_t>(packed[4 * i + b])) << (8 * b);
    out[base + i] = float_from_bits(bits);
  }
}

void read_repeated_double(WireReader& in, uint32_t field, uint32_t type, std::vector<double>& out,
                          std::string_view what) {
  auto from_bits = [](uint64_t bits) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  };
  if (type == wire_fixed64) {
    out.push_back(from_bits(in.fixed64_value()));
    return;
  }
  in.expect(field, type, wire_bytes, "repeated double");
  size_t start = in.offset();
  std::string_view packed = in.length_delimited_bytes();
  if (packed.size() % 8 != 0)
    fail_data("{}: malformed protobuf at byte {}: field {}: packed double length {} is not a multiple of 8",
              what, start, field, packed.size());
  for (size_t i = 0; i < packed.size() / 8; ++i) {
    uint64_t bits = 0;
    for (int b = 0; b < 8; ++b) bits |= static_cast<uint64_t>(static_cast<uint8_t>(packed[8 * i + b])) << (8 * b);
    out.push_back(from_bits(bits));
  }
}

// int32 as protobuf reads it: the low 32 bits of the varint.
int32_t read_int32(WireReader& in, uint32_t field, uint32_t type, const char* name) {
  in.expect(field, type, wire_varint, name);
  return static_cast<int32_t>(static_cast<uint32_t>(in.varint()));
}

}  // namespace

void serialize_datum(const Datum& datum, std::string& out) {
  put_int32_field(out, 1, datum.channels);
  put_int32_field(out, 2, datum.height);
  put_int32_field(out, 3, datum.width);
  if (!datum.data.empty()) put_bytes_field(out, 4, datum.data.data(), datum.data.size());
  put_int32_field(out, 5, datum.label);
  for (float v : datum.float_data) {
    put_tag(out, 6, wire_fixed32);
    put_fixed32(out, v);
  }
  if (datum.encoded) {
    put_tag(out, 7, wire_varint);
    put_varint(out, 1);
  }
}

std::string serialize_datum(const Datum& datum) {
  std::string out;
  out.reserve(datum.data.size() + 32 + 5 * datum.float_data.size());
  serialize_datum(datum, out);
  return out;
}

std::string serialize_datum_reserving(const Datum& fields, size_t data_size, char** data) {
  std::string out;
  out.reserve(data_size + 48);
  put_int32_field(out, 1, fields.channels);
  put_int32_field(out, 2, fields.height);
  put_int32_field(out, 3, fields.width);
  put_tag(out, 4, wire_bytes);
  put_varint(out, data_size);
  size_t data_offset = out.size();
  out.resize(data_offset + data_size);
  put_int32_field(out, 5, fields.label);
  if (fields.encoded) {
    put_tag(out, 7, wire_varint);
    put_varint(out, 1);
  }
  *data = out.data() + data_offset;
  return out;
}

Datum parse_datum(std::string_view bytes, std::string_view what) {
  Datum datum;
  WireReader in(bytes, what);
  while (!in.done()) {
    auto [field, type] = in.tag();
    switch (field) {
      case 1: datum.channels = read_int32(in, field, type, "channels"); break;
      case 2: datum.height = read_int32(in, field, type, "height"); break;
      case 3: datum.width = read_int32(in, field, type, "width"); break;
      case 4: {
        in.expect(field, type, wire_bytes, "data");
        std::string_view data = in.length_delimited_bytes();
        datum.data.assign(data.data(), data.size());
        break;
      }
      case 5: datum.label = read_int32(in, field, type, "label"); break;
      case 6: read_repeated_float(in, field, type, datum.float_data, what); break;
      case 7:
        in.expect(field, type, wire_varint, "encoded");
        datum.encoded = in.varint() != 0;
        break;
      default: in.skip(type);
    }
  }
  return datum;
}

void check_datum_shape(const Datum& datum, std::string_view what, int64_t max_side) {
  if (datum.channels < 1 || datum.channels > 4 || datum.height < 1 || datum.width < 1 ||
      datum.height > max_side || datum.width > max_side)
    fail_data("{}: Datum shape channels={} height={} width={} is not a valid image shape", what,
              datum.channels, datum.height, datum.width);
  if (datum.encoded) {
    if (datum.data.empty()) fail_data("{}: encoded Datum has no data", what);
    return;
  }
  int64_t expected = int64_t{datum.channels} * datum.height * datum.width;
  if (static_cast<int64_t>(datum.data.size()) != expected)
    fail_data("{}: raw Datum has {} data bytes, expected channels*height*width = {}*{}*{} = {}", what,
              datum.data.size(), datum.channels, datum.height, datum.width, expected);
}

std::string serialize_blob_proto(const BlobProto& blob) {
  std::string out;
  out.reserve(32 + 4 * (blob.data.size() + blob.diff.size()) + 12 * blob.shape.size());
  put_int32_field(out, 1, blob.num);
  put_int32_field(out, 2, blob.channels);
  put_int32_field(out, 3, blob.height);
  put_int32_field(out, 4, blob.width);
  put_packed_floats(out, 5, blob.data);
  put_packed_floats(out, 6, blob.diff);
  if (!blob.shape.empty()) {
    std::string dims;
    for (int64_t d : blob.shape) put_varint(dims, static_cast<uint64_t>(d));
    std::string shape;
    put_bytes_field(shape, 1, dims.data(), dims.size());
    put_bytes_field(out, 7, shape.data(), shape.size());
  }
  return out;
}

BlobProto parse_blob_proto(std::string_view bytes, std::string_view what) {
  BlobProto blob;
  std::vector<double> double_data, double_diff;
  WireReader in(bytes, what);
  while (!in.done()) {
    auto [field, type] = in.tag();
    switch (field) {
      case 1: blob.num = read_int32(in, field, type, "num"); break;
      case 2: blob.channels = read_int32(in, field, type, "channels"); break;
      case 3: blob.height = read_int32(in, field, type, "height"); break;
      case 4: blob.width = read_int32(in, field, type, "width"); break;
      case 5: read_repeated_float(in, field, type, blob.data, what); break;
      case 6: read_repeated_float(in, field, type, blob.diff, what); break;
      case 7: {
        in.expect(field, type, wire_bytes, "shape");
        size_t base = in.offset();
        std::string_view shape_bytes = in.length_delimited_bytes();
        // The length prefix precedes the payload; error offsets inside are approximate by it.
        WireReader shape(shape_bytes, what, base);
        blob.shape.clear();  // a repeated message field: the last one wins for our purposes
        while (!shape.done()) {
          auto [sfield, stype] = shape.tag();
          if (sfield != 1) {
            shape.skip(stype);
            continue;
          }
          if (stype == wire_varint) {
            blob.shape.push_back(static_cast<int64_t>(shape.varint()));
          } else {
            shape.expect(sfield, stype, wire_bytes, "shape.dim");
            std::string_view packed = shape.length_delimited_bytes();
            WireReader dims(packed, what, base);
            while (!dims.done()) blob.shape.push_back(static_cast<int64_t>(dims.varint()));
          }
        }
        break;
      }
      case 8: read_repeated_double(in, field, type, double_data, what); break;
      case 9: read_repeated_double(in, field, type, double_diff, what); break;
      default: in.skip(type);
    }
  }
  if (blob.data.empty())
    for (double d : double_data) blob.data.push_back(static_cast<float>(d));
  if (blob.diff.empty())
    for (double d : double_diff) blob.diff.push_back(static_cast<float>(d));
  return blob;
}

}  // namespace digits
