// Small drawing helpers for the pictures digits-infer writes (confusion matrix, top-N grid):
// filled rectangles, pasting images, and class numbers in a 3x5 pixel digit font (no font
// library needed). Everything clips to the canvas. Canvases are 8-bit RGB (data/image.h).
#pragma once

#include <array>
#include <cstdint>

#include "data/image.h"

namespace digits {

using Rgb = std::array<uint8_t, 3>;

// A width x height RGB image filled with `colour`.
Image make_canvas(int64_t width, int64_t height, Rgb colour);
void fill_rect(Image& canvas, int64_t x, int64_t y, int64_t width, int64_t height, Rgb colour);
// Copies `image` (gray or RGB) with its top-left corner at (x, y).
void paste_image(Image& canvas, const Image& image, int64_t x, int64_t y);

// The decimal digits of number >= 0, each 3x5 pixels times `scale`, one pixel (times scale)
// apart: left to right, or top to bottom when `vertical`.
void draw_number(Image& canvas, int64_t x, int64_t y, int64_t number, int64_t scale, Rgb colour,
                 bool vertical = false);
// The extent of draw_number's text along its direction (width, or height when vertical).
int64_t number_length(int64_t number, int64_t scale, bool vertical = false);

}  // namespace digits
