/*
 * Force-included into every image C file (-include). All symbols are
 * hidden: the image is one static PIE, so every reference can be
 * PC-relative. Without this, -fpie reaches extern data and functions
 * through GOT entries (an extra load per access, an indirect branch per
 * call, and relocations that wrongly slide absolute linker symbols).
 */
#pragma GCC visibility push(hidden)
