// mean.binaryproto (data/datum's BlobProto): read by digits-train, digits-infer and
// digits-dataset info from dataset and job directories. Also checks the serialize/parse round
// trip of what parses.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "data/datum.h"
#include "fuzz_util.h"

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  digits::fuzz::expect_clean_rejection([&] {
    digits::BlobProto blob = digits::parse_blob_proto(bytes, "mean.binaryproto");
    digits::BlobProto again =
        digits::parse_blob_proto(digits::serialize_blob_proto(blob), "re-serialized");
    if (again.num != blob.num || again.channels != blob.channels || again.height != blob.height ||
        again.width != blob.width || again.shape != blob.shape || !same_bits(again.data, blob.data) ||
        !same_bits(again.diff, blob.diff))
      digits::fuzz::bug("BlobProto round trip", "fields differ");
  });
  return 0;
}
