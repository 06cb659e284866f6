// Datum records (data/datum): the value of every LMDB record digits-train and digits-dataset
// verify read, from datasets made by anyone. Also checks that what parses re-serializes to a
// message that parses to the same Datum.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "data/datum.h"
#include "fuzz_util.h"

namespace {

bool same(const digits::Datum& a, const digits::Datum& b) {
  return a.channels == b.channels && a.height == b.height && a.width == b.width &&
         a.data == b.data && a.label == b.label && a.encoded == b.encoded &&
         a.float_data.size() == b.float_data.size() &&
         (a.float_data.empty() ||
          std::memcmp(a.float_data.data(), b.float_data.data(), a.float_data.size() * 4) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  digits::fuzz::expect_clean_rejection([&] {
    digits::Datum datum = digits::parse_datum(bytes, "fuzz record");
    digits::Datum again = digits::parse_datum(digits::serialize_datum(datum), "re-serialized");
    if (!same(datum, again)) digits::fuzz::bug("Datum round trip", "fields differ");
    digits::check_datum_shape(datum, "fuzz record");
  });
  return 0;
}
