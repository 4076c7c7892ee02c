/*
 * readers.h — layer 6 of the audit library (audit/README.md, "Source layout"):
 * the readers, one per input format — coff.c (COFF objects), archive.c
 * (archives, whose members it hands to coff.c) and image.c (PE images). Each
 * finds the functions of its format and has verdict.c judge them.
 *
 * May call: verdict, builder, arena; archive.c also calls coff.c (never the reverse).
 */
#ifndef HPA_READERS_H
#define HPA_READERS_H

#include "builder.h"
#include "hotpatch_pe.h"

/** Audit a PE image. Returns the file's status; `*detail` is a message (static or arena). */
hp_status hpa_image(hpa_file *f, hp_pe_span bytes, const char **detail);
/** Audit one COFF object (also used for archive members). */
hp_status hpa_object(hpa_file *f, hp_pe_span bytes, const char **detail);
/** Audit an archive; members are audited as objects. */
hp_status hpa_archive(hpa_file *f, hp_pe_span bytes, const char **detail);

/** 1 when `bytes` look like a COFF object of a machine we name (x86, x64, ARM...). */
int hpa_is_coff_object(hp_pe_span bytes);
/** 1 when `bytes` are a short import object (Sig1 0, Sig2 0xFFFF). */
int hpa_is_short_import(hp_pe_span bytes);

#endif /* HPA_READERS_H */
