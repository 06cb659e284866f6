#include "infer/draw.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace digits {

namespace {

// Rows of each digit, top to bottom; bit 2 is the left column.
constexpr uint8_t kDigitFont[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
};

}  // namespace

Image make_canvas(int64_t width, int64_t height, Rgb colour) {
  DIGITS_CHECK(width > 0 && height > 0, "canvas {}x{}", width, height);
  Image canvas;
  canvas.width = width;
  canvas.height = height;
  canvas.channels = 3;
  canvas.pixels.resize(static_cast<size_t>(width * height * 3));
  fill_rect(canvas, 0, 0, width, height, colour);
  return canvas;
}

void fill_rect(Image& canvas, int64_t x, int64_t y, int64_t width, int64_t height, Rgb colour) {
  const int64_t x0 = std::max<int64_t>(0, x), x1 = std::min(canvas.width, x + width);
  const int64_t y0 = std::max<int64_t>(0, y), y1 = std::min(canvas.height, y + height);
  for (int64_t yy = y0; yy < y1; ++yy)
    for (int64_t xx = x0; xx < x1; ++xx)
      std::copy(colour.begin(), colour.end(), canvas.pixels.begin() + (yy * canvas.width + xx) * 3);
}

void paste_image(Image& canvas, const Image& image, int64_t x, int64_t y) {
  const int c = image.channels;
  for (int64_t yy = 0; yy < image.height; ++yy) {
    if (y + yy < 0 || y + yy >= canvas.height) continue;
    for (int64_t xx = 0; xx < image.width; ++xx) {
      if (x + xx < 0 || x + xx >= canvas.width) continue;
      const uint8_t* src = image.pixels.data() + (yy * image.width + xx) * c;
      uint8_t* dst = canvas.pixels.data() + ((y + yy) * canvas.width + x + xx) * 3;
      for (int ch = 0; ch < 3; ++ch) dst[ch] = src[c == 3 ? ch : 0];
    }
  }
}

int64_t number_length(int64_t number, int64_t scale, bool vertical) {
  const int64_t digits = static_cast<int64_t>(std::to_string(number).size());
  return ((vertical ? 6 : 4) * digits - 1) * scale;
}

void draw_number(Image& canvas, int64_t x, int64_t y, int64_t number, int64_t scale, Rgb colour,
                 bool vertical) {
  const std::string text = std::to_string(number);
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t* glyph = kDigitFont[text[i] - '0'];
    const int64_t gx = vertical ? x : x + static_cast<int64_t>(i) * 4 * scale;
    const int64_t gy = vertical ? y + static_cast<int64_t>(i) * 6 * scale : y;
    for (int row = 0; row < 5; ++row)
      for (int col = 0; col < 3; ++col)
        if (glyph[row] & (4 >> col))
          fill_rect(canvas, gx + col * scale, gy + row * scale, scale, scale, colour);
  }
}

}  // namespace digits
