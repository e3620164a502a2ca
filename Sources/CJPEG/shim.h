// jpeglib.h needs size_t and FILE declared before it is included.
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>
