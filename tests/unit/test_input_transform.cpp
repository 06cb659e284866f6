// The input batch when the backend transforms it (GPU runs): BatchLoader with device_transform
// hands over raw records with each sample's crop corner and mirror flag, and
// Backend::upload_transform turns them into exactly the floats the loader makes itself on the
// CPU path: same draws, same arithmetic (the CPU backend's upload_transform is transform_sample
// per record; tests/unit/test_cuda_kernels_preprocess.cpp holds the CUDA one to it bitwise).
#include <doctest/doctest.h>

#include "temp_dir.h"

#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#include "data/batch_loader.h"
#include "data/datum.h"
#include "data/lmdb_store.h"
#include "data/transform.h"

using namespace digits;
using namespace digits::testing;

namespace {

constexpr int64_t kChannels = 3, kHeight = 9, kWidth = 11, kRecords = 10;

// kRecords raw records of kChannels x kHeight x kWidth with varied bytes.
void write_records(const std::string& dir) {
  LmdbWriter writer(dir);
  for (int64_t n = 0; n < kRecords; ++n) {
    Datum d;
    d.channels = kChannels;
    d.height = kHeight;
    d.width = kWidth;
    d.label = static_cast<int>(n % 4);
    for (int64_t i = 0; i < kChannels * kHeight * kWidth; ++i)
      d.data.push_back(static_cast<char>((i * 29 + n * 53) % 256));
    writer.put(fmt::format("{:08d}_{}", n, d.label), serialize_datum(d));
  }
  writer.finish();
}

}  // namespace

TEST_CASE("BatchLoader device_transform + upload_transform = the loader's own floats") {
  TempDir tmp;
  write_records(tmp / "train_db");
  std::vector<float> mean(kChannels * kHeight * kWidth);
  for (size_t i = 0; i < mean.size(); ++i) mean[i] = static_cast<float>((i * 17) % 251) + 0.25f;

  for (const char* mode : {"image", "pixel", "none"})
    for (bool train : {true, false}) {
      const std::string what = std::string("mean ") + mode + (train ? ", train" : ", val");
      CAPTURE(what);
      BatchLoaderOptions o;
      o.db_dir = tmp / "train_db";
      o.batch_size = 4;  // 10 records: a short last batch in one pass
      o.channels = kChannels;
      o.height = kHeight;
      o.width = kWidth;
      o.crop = 7;
      o.random_crop = train;
      o.mirror = train;
      o.shuffle = train;
      o.seed = 5;
      o.mean_mode = mode;
      o.mean = mean;
      o.scale = 0.0125f;
      BatchLoaderOptions raw_options = o;
      raw_options.device_transform = true;
      BatchLoader floats(o), raw(raw_options);
      floats.start(2, !train);
      raw.start(2, !train);

      const SampleTransform sample =
          make_sample_transform(kChannels, kHeight, kWidth, o.crop, mode, mean, o.scale);
      InputBatchTransform t = input_batch_transform(sample, 0);
      t.mean_image = sample.mean_image;  // the CPU backend's device is the host
      t.mean_pixel = std::string(mode) == "pixel" ? sample.mean_pixel.data() : nullptr;
      int flips = 0;
      for (int b = 0; b < 3; ++b) {
        const Batch& expected = floats.next();
        const Batch& got = raw.next();
        REQUIRE(got.count == expected.count);
        if (got.count == 0) break;
        CHECK(got.data.empty());
        CHECK(got.labels == expected.labels);
        CHECK(got.records == expected.records);
        for (int64_t s = 0; s < got.count; ++s) flips += got.mirror[s];
        t.batch = got.count;
        std::vector<float> out(static_cast<size_t>(got.count * kChannels * 7 * 7));
        cpu_backend().upload_transform(t, got.pixels.data(), got.crop_y.data(),
                                       got.crop_x.data(), got.mirror.data(), out.data());
        for (size_t i = 0; i < out.size(); ++i) REQUIRE(out[i] == expected.data[i]);
      }
      if (train) CHECK(flips > 0);  // the mirror draws were exercised
      floats.stop();
      raw.stop();
    }
}

TEST_CASE("upload_transform refuses a crop corner outside the record") {
  std::vector<uint8_t> pixels(2 * 4 * 4), mirror(2, 0);
  std::vector<int32_t> crop_y = {0, 2}, crop_x = {0, 0};
  std::vector<float> out(2 * 3 * 3);
  InputBatchTransform t;
  t.batch = 2;
  t.channels = 1;
  t.height = t.width = 4;
  t.out_height = t.out_width = 3;
  try {
    cpu_backend().upload_transform(t, pixels.data(), crop_y.data(), crop_x.data(), mirror.data(),
                                   out.data());
    FAIL("a corner at row 2 of a 3-row crop in 4 rows was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("crop corner (2, 0) of record 1") != std::string::npos);
  }
}
