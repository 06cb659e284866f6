// The image decoding wrapper (data/image): every image digits-dataset ingests and digits-infer
// classifies, in every format (JPEG, PNG, BMP, GIF, TGA, PNM; TIFF recognised and refused): the
// format comes from the magic bytes, so one target reaches all decoders and the seeds hold
// each format. Probes, decodes to gray and to colour (with and without the DCT-scaling hint),
// and resizes the result as ingestion does. max_pixels is kept small so that bombs are refused
// before they allocate (the limit is checked from the header, before decoding).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/rng.h"
#include "data/image.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  digits::fuzz::expect_clean_rejection([&] {
    digits::ImageInfo info = digits::probe_image(data, size);
    if (info.width < 0 || info.height < 0) digits::fuzz::bug("negative size from probe", "");
  });
  for (int channels : {1, 3}) {
    digits::fuzz::expect_clean_rejection([&] {
      digits::DecodeOptions options;
      options.channels = channels;
      options.max_pixels = 1 << 16;  // 256x256: a 23-byte RLE TGA may fill all of it
      if (channels == 3) options.target_width = options.target_height = 8;
      digits::Image image = digits::decode_image(data, size, options);
      if (image.channels != channels ||
          image.pixels.size() != static_cast<size_t>(image.width * image.height * channels))
        digits::fuzz::bug("decoded image has the wrong size", "");
      digits::Rng rng(1);
      digits::resize_image(image, 7, 5, channels == 1 ? digits::ResizeMode::fill
                                                      : digits::ResizeMode::crop, rng);
    });
  }
  return 0;
}
