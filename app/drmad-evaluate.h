/* `drmad --no-gui --evaluate`: drmad as the objective of any black-box
 * search. One θ per line on standard input, one result line per θ on
 * standard output, everything else (data, split, net, T, seed, device)
 * loaded once from the options. */
#pragma once

#include <stdio.h>
#include <drmad.h>
#include "drmad-options.h"

/* The θ a line describes. A line is whitespace-separated KEY=VALUE items:
 * the start settings of drmad_options_start_keys() (init-l2=3e-4 or
 * init-l2=3e-4,1e-3,1e-4, one per weight layer) rebuild θ from the
 * options' starting values with those replaced; then θ's entries, named as
 * drmad_hyper_get_name() names them (l2/layer1, lr/layer2/seg0,
 * l2/layer1/in17, …; only the entries @options learn), each set one entry
 * in natural units. Every line starts again from the options' θ.
 *
 * Returns a new θ for @sizes (drmad_hyper_free()), or NULL: with @error set
 * on a bad line (an unknown or repeated key, an item without '=', a
 * malformed or out-of-range number: the message names the key and what
 * was expected), or with @error unset when the line is blank or a comment
 * (its first non-blank character is '#'). */
DrmadHyper *drmad_evaluate_parse_line (const DrmadOptions *options, const guint *sizes, guint n_sizes,
                                       const char *line, GError **error);

/* Reads lines from @in until EOF; for each θ, trains from scratch
 * (drmad_hyper_train with the options' seed) and writes one line to @out,
 *   val_loss=V val_error=E test_loss=V test_error=E train_loss=V diverged=0 seconds=S test_seconds=S
 * (seconds: the whole line; test_seconds: the part the test set took, which
 * a search that reads only the validation numbers need not count)
 * (a training whose loss became NaN or infinite: diverged=1, the losses inf
 * and the errors 1), or for a bad line
 *   error: line N: MESSAGE
 * and goes on. @out is flushed after every line. A description of the
 * device and data goes to @log. Returns the exit status: 0 at EOF, 2 when
 * the options cannot be set up (bad input), 1 when the device fails (after
 * an error line for the line it failed on) or @in cannot be read. The
 * options it does not take (--resume, --out, --force, --shard-data, a
 * typed --warm-start) drmad_cli_main() refuses before it is called. */
int drmad_evaluate_main (const DrmadOptions *options, FILE *in, FILE *out, FILE *log);
