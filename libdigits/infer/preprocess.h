// An image file's way into the network at inference: exactly what training did to the
// dataset's records, read from the job (preprocess.yaml, mean.binaryproto), never re-specified
// by hand.
//
//   decoded image (interleaved RGB or gray, any size)
//     -> resized to the dataset's width x height with the dataset's resize mode, when its size
//        differs (the step digits-dataset create did; `fill` noise from a seeded Rng)
//     -> planar BGR uint8 (C, H, W), as the LMDB records hold it
//     -> transform_sample (data/transform.h, the code BatchLoader runs): centre crop, mean
//        image / mean pixel subtraction, times data_scale
//     -> floats (C, out_h, out_w) for the network's "data" blob.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"
#include "train/job_dir.h"

namespace digits {

// The job's mean image (C, H, W), BGR, from JOBDIR/mean.binaryproto; empty when
// preprocess.mean is "none". Error(data) naming the file when it is missing or its size does not
// match preprocess's channels x height x width.
std::vector<float> load_job_mean(const std::string& job_dir, const Preprocess& preprocess);

// Network input size per image: (channels, out_h, out_w) with out = crop when crop > 0.
int64_t preprocess_out_height(const Preprocess& preprocess);
int64_t preprocess_out_width(const Preprocess& preprocess);

// The decoded image brought to the dataset's record: resized (when the size differs) to
// preprocess.width x height with preprocess.resize_mode. `image` must have preprocess.channels
// channels (decode with DecodeOptions::channels = preprocess.channels). fill/half_crop noise
// comes from Rng(noise_seed), so the same image always gives the same input.
Image resize_to_record(const Image& image, const Preprocess& preprocess, uint64_t noise_seed = 0);

// Interleaved RGB (or gray) (H, W, C) -> planar BGR (C, H, W), as Caffe's records hold colour.
std::vector<uint8_t> to_planar_bgr(const Image& image);

// The whole chain above: the network input (C, out_h, out_w) for one decoded image. `mean` is
// load_job_mean's result (empty for mean "none").
std::vector<float> preprocess_image(const Image& image, const Preprocess& preprocess,
                                    const std::vector<float>& mean, uint64_t noise_seed = 0);

// read_image_file with the job's channel count, then preprocess_image. Errors name the path
// (Error(data) for bad content, Error(runtime) or Error(usage) for a file that cannot be read).
std::vector<float> preprocess_image_file(const std::string& path, const Preprocess& preprocess,
                                         const std::vector<float>& mean,
                                         uint64_t noise_seed = 0);

}  // namespace digits
