// jpeglib.h needs size_t and FILE declared before it is included.
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

/*
 * libjpeg's default error handler prints and calls exit(); a custom one
 * longjmps instead, which must never cross Swift frames. Every libjpeg call
 * that can fail is made from one of these C helpers, each owning the setjmp
 * for the calls it makes and returning 0 with the message in `msg`.
 */

typedef struct unclip_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} unclip_jpeg_error;

static void unclip_jpeg_error_exit(j_common_ptr cinfo) {
    unclip_jpeg_error *e = (unclip_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* A truncated file is only a warning to libjpeg, which then pads the rest of
 * the image with gray; unclip treats it as the error it is. Other warnings
 * (stray bytes before a marker, common in camera files) stay silent. */
static void unclip_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        unclip_jpeg_error *e = (unclip_jpeg_error *)cinfo->err;
        strcpy(e->msg, "truncated file");
        longjmp(e->jump, 1);
    }
}

static void unclip_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

typedef struct unclip_jpeg_reader {
    struct jpeg_decompress_struct d;
    unclip_jpeg_error err;
    int created;
} unclip_jpeg_reader;

/* Reads the header and keeps APP1 (EXIF) markers. Always returns a reader to
 * close; `ok` tells whether the header was read. */
static inline unclip_jpeg_reader *unclip_jpeg_open(const unsigned char *data, unsigned long size, int *ok) {
    *ok = 0;
    unclip_jpeg_reader *r = (unclip_jpeg_reader *)calloc(1, sizeof(unclip_jpeg_reader));
    if (!r) return NULL;
    r->d.err = jpeg_std_error(&r->err.pub);
    r->err.pub.error_exit = unclip_jpeg_error_exit;
    r->err.pub.emit_message = unclip_jpeg_emit_message;
    r->err.pub.output_message = unclip_jpeg_output_message;
    if (setjmp(r->err.jump)) return r;
    jpeg_create_decompress(&r->d);
    r->created = 1;
    jpeg_mem_src(&r->d, data, size);
    jpeg_save_markers(&r->d, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&r->d, TRUE);
    *ok = 1;
    return r;
}

/* Decodes into `out` (output_height rows of width * components bytes) in the
 * colour space asked for: JCS_GRAYSCALE, JCS_RGB or JCS_CMYK (CMYK and YCCK
 * files, converted to RGB by the caller as Pillow does). Defaults otherwise:
 * the accurate integer IDCT and fancy upsampling, as Pillow uses. */
static inline int unclip_jpeg_decode(unclip_jpeg_reader *r, J_COLOR_SPACE space, unsigned char *out, size_t rowbytes) {
    if (setjmp(r->err.jump)) return 0;
    r->d.out_color_space = space;
    jpeg_start_decompress(&r->d);
    if (r->d.output_width * (size_t)r->d.output_components != rowbytes) {
        strcpy(r->err.msg, "unexpected output layout");
        return 0;
    }
    while (r->d.output_scanline < r->d.output_height) {
        JSAMPROW row = out + (size_t)r->d.output_scanline * rowbytes;
        jpeg_read_scanlines(&r->d, &row, 1);
    }
    jpeg_finish_decompress(&r->d);
    return 1;
}

static inline void unclip_jpeg_close(unclip_jpeg_reader *r) {
    if (!r) return;
    if (r->created) jpeg_destroy_decompress(&r->d);
    free(r);
}

/* Encodes 8-bit gray (1) or RGB (3) pixels at `quality` (1-100), with an
 * optional comment marker for provenance. On success *out holds the file
 * (free it with free()). */
static inline int unclip_jpeg_encode(const unsigned char *pixels, unsigned width, unsigned height, int components,
                                     int quality, const char *comment, unsigned char **out, unsigned long *outsize,
                                     char *msg) {
    struct jpeg_compress_struct c;
    unclip_jpeg_error err;
    memset(&c, 0, sizeof c);
    c.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = unclip_jpeg_error_exit;
    err.pub.output_message = unclip_jpeg_output_message;
    *out = NULL; *outsize = 0;
    if (setjmp(err.jump)) {
        strcpy(msg, err.msg);
        jpeg_destroy_compress(&c);
        free(*out); *out = NULL; *outsize = 0;
        return 0;
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, out, outsize);
    c.image_width = width;
    c.image_height = height;
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    c.optimize_coding = TRUE;
    jpeg_start_compress(&c, TRUE);
    if (comment && *comment) jpeg_write_marker(&c, JPEG_COM, (const JOCTET *)comment, (unsigned)strlen(comment));
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)c.next_scanline * width * components);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return 1;
}
