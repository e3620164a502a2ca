#include <png.h>
#include <stdlib.h>
#include <string.h>

/*
 * libpng reports errors with longjmp, which must never cross Swift frames.
 * Every libpng call that can fail is made from one of these C helpers, each
 * of which owns the setjmp for the calls it makes and returns 0 with a
 * message in `msg` instead. Swift only calls the getters (png_get_*) between
 * helpers, and those never fail.
 */

#define UNCLIP_PNG_CHUNK_MAX (8u << 20)

typedef struct unclip_png_reader {
    png_structp png;
    png_infop info;
    const unsigned char *data;
    size_t size;
    size_t pos;
    png_bytep *rows;
    char msg[256];
    /* As stored. */
    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    /* After the 8-bit transforms. */
    int out_channels;
    size_t out_rowbytes;
} unclip_png_reader;

static void unclip_png_error_fn(png_structp png, png_const_charp message) {
    char *msg = (char *)png_get_error_ptr(png);
    strncpy(msg, message ? message : "unknown libpng error", 255);
    msg[255] = 0;
    png_longjmp(png, 1);
}

/* Warnings (e.g. "known incorrect sRGB profile") are not the user's problem. */
static void unclip_png_warning_fn(png_structp png, png_const_charp message) {
    (void)png; (void)message;
}

static void unclip_png_read_fn(png_structp png, png_bytep out, size_t n) {
    unclip_png_reader *r = (unclip_png_reader *)png_get_io_ptr(png);
    if (n > r->size - r->pos) png_error(png, "truncated file");
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

/* Reads the header (everything up to the first IDAT). Always returns a
 * reader to close; `ok` tells whether the header was read. */
static inline unclip_png_reader *unclip_png_open(const unsigned char *data, size_t size, int *ok) {
    *ok = 0;
    unclip_png_reader *r = (unclip_png_reader *)calloc(1, sizeof(unclip_png_reader));
    if (!r) return NULL;
    r->data = data; r->size = size;
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r->msg, unclip_png_error_fn, unclip_png_warning_fn);
    if (!r->png) { strcpy(r->msg, "out of memory"); return r; }
    /* libpng allocates an ancillary chunk's declared length (up to 2^31) before
     * reading it, and inflates zTXt/iTXt/iCCP up to this limit: a 700-byte file
     * could ask for 2 GB. No chunk unclip reads needs more than 8 MB. */
    png_set_chunk_malloc_max(r->png, UNCLIP_PNG_CHUNK_MAX);
    r->info = png_create_info_struct(r->png);
    if (!r->info) { strcpy(r->msg, "out of memory"); return r; }
    if (setjmp(png_jmpbuf(r->png))) return r;
    png_set_read_fn(r->png, r, unclip_png_read_fn);
    /* The caller enforces its own pixel limit; lift libpng's 1M-column one. */
    png_set_user_limits(r->png, 0x7fffffff, 0x7fffffff);
    png_read_info(r->png, r->info);
    png_get_IHDR(r->png, r->info, &r->width, &r->height, &r->bit_depth, &r->color_type, &r->interlace, NULL, NULL);
    *ok = 1;
    return r;
}

/* Asks for 8-bit output: palette and low-depth gray expanded, tRNS turned
 * into an alpha channel, 16-bit scaled with rounding (v * 255 / 65535, as
 * ImageMagick's ScaleQuantumToChar does) rather than truncated. */
static inline int unclip_png_prepare(unclip_png_reader *r) {
    if (setjmp(png_jmpbuf(r->png))) return 0;
    png_set_expand(r->png);
    png_set_scale_16(r->png);
    png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    r->out_channels = png_get_channels(r->png, r->info);
    r->out_rowbytes = png_get_rowbytes(r->png, r->info);
    return 1;
}

/* Decodes every row into `out` (height * out_rowbytes bytes) and reads the
 * chunks after the image data, so text and eXIf there are seen too. */
static inline int unclip_png_decode(unclip_png_reader *r, unsigned char *out) {
    r->rows = (png_bytep *)malloc(sizeof(png_bytep) * (r->height ? r->height : 1));
    if (!r->rows) { strcpy(r->msg, "out of memory"); return 0; }
    for (png_uint_32 y = 0; y < r->height; y++) r->rows[y] = out + (size_t)y * r->out_rowbytes;
    if (setjmp(png_jmpbuf(r->png))) return 0;
    png_read_image(r->png, r->rows);
    png_read_end(r->png, r->info);
    return 1;
}

static inline void unclip_png_close(unclip_png_reader *r) {
    if (!r) return;
    if (r->png) png_destroy_read_struct(&r->png, r->info ? &r->info : NULL, NULL);
    free(r->rows);
    free(r);
}

/* ---- Writing ---- */

typedef struct unclip_png_buffer {
    unsigned char *data;
    size_t size, capacity;
    char msg[256];
} unclip_png_buffer;

static void unclip_png_write_fn(png_structp png, png_bytep bytes, size_t n) {
    unclip_png_buffer *b = (unclip_png_buffer *)png_get_io_ptr(png);
    if (b->size + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 65536;
        while (cap < b->size + n) cap *= 2;
        unsigned char *p = (unsigned char *)realloc(b->data, cap);
        if (!p) png_error(png, "out of memory");
        b->data = p; b->capacity = cap;
    }
    memcpy(b->data + b->size, bytes, n);
    b->size += n;
}

static void unclip_png_flush_fn(png_structp png) { (void)png; }

/* Encodes 8-bit interleaved pixels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)
 * with the given text chunks. On success `out->data` holds the file (free
 * it with free()); on failure 0 is returned with the reason in out->msg. */
static inline int unclip_png_encode(const unsigned char *pixels, png_uint_32 width, png_uint_32 height, int channels,
                                    png_textp texts, int ntexts, unclip_png_buffer *out) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_bytep *rows = NULL;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, out->msg, unclip_png_error_fn, unclip_png_warning_fn);
    if (!png) { strcpy(out->msg, "out of memory"); return 0; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_write_struct(&png, NULL); strcpy(out->msg, "out of memory"); return 0; }
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (height ? height : 1));
    if (!rows) { png_destroy_write_struct(&png, &info); strcpy(out->msg, "out of memory"); return 0; }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = (png_bytep)pixels + (size_t)y * width * channels;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        free(out->data); out->data = NULL; out->size = 0;
        return 0;
    }
    png_set_write_fn(png, out, unclip_png_write_fn, unclip_png_flush_fn);
    png_set_IHDR(png, info, width, height, 8, types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (ntexts > 0) png_set_text(png, info, texts, ntexts);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return 1;
}
