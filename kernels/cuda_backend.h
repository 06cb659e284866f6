// Entry points of the CUDA backend (compiled only when DIGITS_HAVE_CUDA).
#pragma once

#include <string>

#include "backend/backend.h"

namespace digits {

// True when the CUDA runtime finds a usable device; otherwise false and why (no driver, no
// device, CUDA_VISIBLE_DEVICES empty). Never throws.
bool cuda_probe(std::string* why);

// The process-wide backend for device `index` (after CUDA_VISIBLE_DEVICES remapping).
Backend& cuda_backend(int index);

}  // namespace digits
