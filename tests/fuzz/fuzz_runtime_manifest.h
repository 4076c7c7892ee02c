/*
 * fuzz_runtime_manifest.h — the input layout of fuzz_runtime_manifest.c, shared with the seed
 * writer (seeds.c): byte 0 selects the pointer size (even: 8, odd: 4); the rest is a manifest
 * section (hotpatch_fix.h) of an image whose one region, code and writable, holds those same bytes
 * at FUZZ_MF_BASE: pointers of the manifest lead back into it.
 */
#ifndef FUZZ_RUNTIME_MANIFEST_H
#define FUZZ_RUNTIME_MANIFEST_H

#define FUZZ_MF_BASE 0x10000u

#endif
