/* Internal: DRMAD_VECTOR_CLONES, for the loops of the files built with the
 * fused host step's flags (lib/meson.build: host_step_lib). */
#pragma once

/* Elementwise loops get an AVX-512 (x86-64-v4) and an AVX2 clone where the
 * compiler can make them (ifunc picks one at load time; their sums run in
 * order, as no flag lets the compiler reassociate them, and
 * -ffp-contract=off holds, so every clone gives the same numbers);
 * sanitizer and clang builds keep one copy. Under ThreadSanitizer the
 * resolver that ifunc runs is instrumented too, and the dynamic linker
 * calls it before the sanitizer's runtime is set up: every program
 * crashed at load (docs/reliability.md, "ThreadSanitizer"). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) \
    && !defined(__SANITIZE_THREAD__)
#define DRMAD_VECTOR_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "avx2", "default")))
#else
#define DRMAD_VECTOR_CLONES
#endif
