#include "infer/preprocess.h"

#include <filesystem>

#include "core/error.h"
#include "core/fs.h"
#include "core/rng.h"
#include "data/datum.h"
#include "data/transform.h"

namespace digits {

namespace fs = std::filesystem;

std::vector<float> load_job_mean(const std::string& job_dir, const Preprocess& preprocess) {
  if (preprocess.mean == "none") return {};
  std::string path = (fs::path(job_dir) / "mean.binaryproto").string();
  if (!fs::exists(path))
    fail_data("{}: missing, but preprocess.yaml says mean: {} (an incomplete job directory?)",
              path, preprocess.mean);
  BlobProto blob = parse_blob_proto(read_file(path, size_t(1) << 30), path);
  const int64_t expected = preprocess.channels * preprocess.height * preprocess.width;
  if (static_cast<int64_t>(blob.data.size()) != expected)
    fail_data("{}: {} values, preprocess.yaml's {}x{}x{} (channels x height x width) needs {}",
              path, blob.data.size(), preprocess.channels, preprocess.height, preprocess.width,
              expected);
  return std::move(blob.data);
}

int64_t preprocess_out_height(const Preprocess& p) { return p.crop > 0 ? p.crop : p.height; }
int64_t preprocess_out_width(const Preprocess& p) { return p.crop > 0 ? p.crop : p.width; }

Image resize_to_record(const Image& image, const Preprocess& preprocess, uint64_t noise_seed) {
  if (image.channels != preprocess.channels)
    fail_usage("image has {} channel(s), the job's records have {} (decode with channels = {})",
               image.channels, preprocess.channels, preprocess.channels);
  if (image.width == preprocess.width && image.height == preprocess.height) return image;
  Rng rng(noise_seed);
  return resize_image(image, preprocess.width, preprocess.height,
                      parse_resize_mode(preprocess.resize_mode), rng);
}

std::vector<uint8_t> to_planar_bgr(const Image& image) {
  const int64_t c = image.channels, plane = image.height * image.width;
  std::vector<uint8_t> planar(static_cast<size_t>(c * plane));
  for (int64_t ch = 0; ch < c; ++ch) {
    // Planar channel 0 is blue: the record's BGR order is the image's RGB reversed.
    const int64_t source = c == 3 ? 2 - ch : ch;
    for (int64_t i = 0; i < plane; ++i) planar[ch * plane + i] = image.pixels[i * c + source];
  }
  return planar;
}

std::vector<float> preprocess_image(const Image& image, const Preprocess& preprocess,
                                    const std::vector<float>& mean, uint64_t noise_seed) {
  const Image record = resize_to_record(image, preprocess, noise_seed);
  const std::vector<uint8_t> planar = to_planar_bgr(record);
  const SampleTransform transform =
      make_sample_transform(preprocess.channels, preprocess.height, preprocess.width,
                            preprocess.crop, preprocess.mean, mean,
                            static_cast<float>(preprocess.data_scale));
  std::vector<float> out(
      static_cast<size_t>(preprocess.channels * transform.out_height * transform.out_width));
  transform_sample(transform, planar.data(), centre_crop_y(transform), centre_crop_x(transform),
                   false, out.data());
  return out;
}

std::vector<float> preprocess_image_file(const std::string& path, const Preprocess& preprocess,
                                         const std::vector<float>& mean, uint64_t noise_seed) {
  DecodeOptions decode;
  decode.channels = static_cast<int>(preprocess.channels);
  // Let large JPEGs decode at a reduced scale: they are resized to the record size anyway.
  decode.target_width = preprocess.width;
  decode.target_height = preprocess.height;
  return preprocess_image(read_image_file(path, decode), preprocess, mean, noise_seed);
}

}  // namespace digits
