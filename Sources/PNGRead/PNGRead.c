#include "PNGRead.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *bytes;
    size_t size;
    size_t offset;
    char *message;
    size_t message_size;
} Reader;

static void read_bytes(png_structp png, png_bytep out, size_t count) {
    Reader *reader = png_get_io_ptr(png);
    if (count > reader->size - reader->offset) png_error(png, "file is truncated");
    memcpy(out, reader->bytes + reader->offset, count);
    reader->offset += count;
}

static void on_error(png_structp png, png_const_charp text) {
    Reader *reader = png_get_error_ptr(png);
    snprintf(reader->message, reader->message_size, "%s", text);
    png_longjmp(png, 1);
}

// Warnings (e.g. a bad CRC in an ancillary chunk, which libpng then skips) are not failures.
static void on_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

int pngread_decode(const uint8_t *bytes, size_t size, PNGReadMode mode, uint64_t max_pixels,
                   uint8_t **pixels, uint32_t *width, uint32_t *height, int *channels,
                   char *message, size_t message_size) {
    Reader reader = {bytes, size, 0, message, message_size};
    if (message_size > 0) message[0] = 0;
    *pixels = NULL;
    if (size < 8 || png_sig_cmp(bytes, 0, 8) != 0) {
        snprintf(message, message_size, "not a PNG signature");
        return 1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, on_error, on_warning);
    if (!png) {
        snprintf(message, message_size, "libpng initialisation failed");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    // Everything a longjmp may skip over lives in volatile locals or in `reader`.
    uint8_t *volatile output = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        if (message_size > 0 && message[0] == 0) snprintf(message, message_size, "libpng failed");
        free(output);
        free(rows);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return 1;
    }
    png_set_read_fn(png, &reader, read_bytes);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        snprintf(message, message_size, "%ux%u pixels is above the limit of %llu", w, h, (unsigned long long)max_pixels);
        png_longjmp(png, 1);
    }
    int out_channels;
    int clip_gray16 = 0;  // Pillow's I;16 -> RGB clips at 255 rather than taking the high byte.
    if (mode == PNGReadLabels) {
        if (color_type == PNG_COLOR_TYPE_PALETTE || (color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 1)) {
            png_set_packing(png);  // indices (or 0/1) one per byte, unscaled, as Pillow's P and 1 modes
        } else if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
            png_set_expand_gray_1_2_4_to_8(png);  // Pillow's L;2 / L;4 raw modes scale the same way
        } else if (!(color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 8)) {
            snprintf(message, message_size, "label PNG must be palette or grayscale of at most 8 bits (colour type %d, %d-bit)",
                     color_type, bit_depth);
            png_longjmp(png, 1);
        }
        out_channels = 1;
    } else {
        if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
        if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16) {
            clip_gray16 = 1;  // read 16-bit samples and clip them below
        } else {
            if (bit_depth == 16) png_set_strip_16(png);  // high byte, as Pillow's ;16B raw modes
            if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
        }
        // Alpha (from the file or a tRNS chunk expanded with the palette) is dropped, never composited.
        png_set_strip_alpha(png);
        out_channels = 3;
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    size_t expected_row = (size_t)w * (clip_gray16 ? 2 : (size_t)out_channels);
    if (row_bytes != expected_row) {
        snprintf(message, message_size, "unexpected row size %zu (expected %zu)", row_bytes, expected_row);
        png_longjmp(png, 1);
    }
    output = malloc(row_bytes * (size_t)h + 1);
    rows = malloc(sizeof(png_bytep) * ((size_t)h + 1));
    if (!output || !rows) {
        snprintf(message, message_size, "out of memory for %ux%u pixels", w, h);
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = output + (size_t)y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    rows = NULL;
    png_destroy_read_struct(&png, &info, NULL);
    if (clip_gray16) {
        // Big-endian 16-bit gray → clipped 8-bit, replicated to RGB (in place is unsafe: new buffer).
        uint8_t *rgb = malloc((size_t)w * h * 3 + 1);
        if (!rgb) {
            free(output);
            snprintf(message, message_size, "out of memory for %ux%u pixels", w, h);
            return 1;
        }
        for (size_t i = 0; i < (size_t)w * h; i++) {
            unsigned value = ((unsigned)output[2 * i] << 8) | output[2 * i + 1];
            uint8_t clipped = value > 255 ? 255 : (uint8_t)value;
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = clipped;
        }
        free(output);
        output = rgb;
    }
    *pixels = output;
    *width = w;
    *height = h;
    *channels = out_channels;
    return 0;
}
