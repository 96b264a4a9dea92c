// PNG decoding through libpng's full (non-simplified) API, in C because libpng reports errors
// with longjmp, which Swift code cannot catch. The simplified API (png_image_*) applies the
// file's gAMA chunk and composites alpha onto black; Pillow does neither, so neither do we.
#ifndef PNGREAD_H
#define PNGREAD_H

#include <stddef.h>
#include <stdint.h>

/// What the decoded pixels should look like.
typedef enum {
    /// Pillow's Image.open(f).convert("RGB"): palette expanded, gray replicated, alpha dropped
    /// (not composited), 16-bit colour samples reduced to their high byte, 16-bit gray clipped to 255.
    PNGReadRGB = 0,
    /// np.array(Image.open(mask)) for label masks: palette indices and 8-bit gray values as stored.
    /// Colour, alpha and 16-bit files are refused (their values are not labels).
    PNGReadLabels = 1,
} PNGReadMode;

/// Decodes `size` bytes of PNG. On success returns 0 and sets *pixels (malloc'd, HWC, free with
/// free()), *width, *height and *channels (3 for RGB, 1 for labels). On failure returns non-zero
/// and writes a NUL-terminated reason into `message`. Images above `max_pixels` are refused
/// before any pixel memory is allocated.
int pngread_decode(const uint8_t *bytes, size_t size, PNGReadMode mode, uint64_t max_pixels,
                   uint8_t **pixels, uint32_t *width, uint32_t *height, int *channels,
                   char *message, size_t message_size);

#endif
