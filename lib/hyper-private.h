/* Internal: expanding θ into per-parameter vectors and reducing per-parameter
 * sensitivities back into dθ (docs/algorithm.md §1 table, §2 chain rule). */
#pragma once

#include "drmad-hypergradient.h"
#include "net-private.h"

/* Whether @hyper was made for a net of @net's widths (else
 * %DRMAD_ERROR_INVALID_ARGUMENT naming both): every entry point that takes
 * both checks this before expanding θ over the net's parameters. */
gboolean drmad_hyper_check_net (const DrmadHyper *hyper, const DrmadNet *net, GError **error);

/* η (S×P), γ (S×P), exp(λ) (P) and the initial scales (L) for the current θ. */
void drmad_hyper_expand (const DrmadHyper *hyper, const DrmadNet *net, double *eta, double *gamma,
                         double *l2, double *scales);

/* dθ from the per-parameter accumulations of the reverse pass:
 * deta[s·P+i] = Σ_{t∈s} dw_i v_{t+1,i}, dgamma[s·P+i] = Σ_{t∈s} dv_i (v_t + g_t)_i,
 * dl2[i] = dλ_i (exp(λ) already in), dw0, w0. */
void drmad_hyper_reduce (const DrmadHyper *hyper, const DrmadNet *net, const double *eta,
                         const double *gamma, const double *deta, const double *dgamma,
                         const double *dl2, const double *dw0, const double *w0, double *gradient);
