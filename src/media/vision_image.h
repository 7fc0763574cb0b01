// Image preparation that vision-language models add in front of CLIP's preprocessing
// (clip_preprocess.h), as their reference code does it:
//  - transparency composited on white, as transformers' convert_to_rgb does for every
//    image processor (PIL's alpha_composite over an opaque white RGBA image, integer
//    arithmetic included), so a transparent PNG shows its content, not its hidden colours;
//  - the original LLaVA's expand2square: the image centred on a square of the
//    preprocessor's mean colour (int(mean * 255) per channel), so the center crop keeps
//    the whole picture.
#pragma once

#include <array>
#include <cstdint>

#include "media/image.h"

namespace mms::media {

// RGB: RGBA, LA and palette images with transparency composited on white; any other mode
// converted as ConvertToRGB does.
Image CompositeOnWhite(const Image& image);

// `rgb` (mode RGB) centred on a square of `fill`: columns or rows added on both sides,
// the odd one after ((side - short) / 2 before), as PIL's paste at that offset. A square
// image is returned as a copy.
Image PadToSquare(const Image& rgb, const std::array<uint8_t, 3>& fill);

}  // namespace mms::media
